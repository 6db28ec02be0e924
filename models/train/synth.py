"""Synthetic people seen from a drone, pasted onto real aerial crops.

No labelled, permissively licensed RGB set of people seen straight down can be had, so the
training mixes real oblique and thermal people with rendered ones: a person is drawn from
ellipses (shoulders and torso, head, arms, legs when the camera is tilted) in random clothing,
hair and skin colours, lit from the sun's side, with a soft cast shadow on the ground, drawn 4x
supersampled and box-filtered down, then blurred a little. Seen straight down (tilt 0) a
person is a head on a pair of shoulders; tilted, the torso and legs show below the head.
Written for pixla (no code taken from elsewhere).

`paste(img, rng, n)` draws n people onto an HxWx3 uint8 array in place and returns their
boxes [x, y, w, h] (the person, not its shadow).
"""

import numpy as np
from PIL import Image, ImageDraw

SS = 4  # supersampling

CLOTHES = np.array([
    [20, 20, 22], [40, 40, 45], [70, 70, 75], [120, 120, 125], [200, 200, 200], [235, 235, 230],
    [30, 40, 90], [50, 70, 140], [20, 60, 120], [150, 30, 30], [200, 40, 40], [220, 120, 30],
    [230, 200, 50], [40, 110, 50], [60, 80, 40], [110, 90, 60], [150, 120, 90], [200, 90, 150],
    [90, 50, 120], [30, 150, 170], [240, 240, 80], [255, 110, 0],
], dtype=np.float32)
HAIR = np.array([[20, 15, 10], [45, 30, 20], [80, 55, 35], [140, 110, 70], [200, 170, 110], [120, 120, 120], [30, 30, 30]], dtype=np.float32)
# jackets and trousers seen in winter: mostly dark, some bright outdoor colours
WINTER = np.array([
    [15, 15, 18], [30, 30, 35], [45, 42, 40], [60, 55, 50], [35, 40, 60], [25, 35, 70],
    [70, 60, 45], [50, 60, 45], [90, 30, 30], [170, 30, 30], [210, 70, 30], [30, 90, 150],
    [150, 150, 155],
], dtype=np.float32)
SKIN = np.array([[230, 190, 160], [200, 150, 115], [160, 110, 80], [110, 75, 50], [70, 45, 30]], dtype=np.float32)


def ellipse(h, w, cy, cx, ry, rx, ang):
    """Soft-edged mask of a rotated ellipse on an h x w grid (supersampled pixels)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    y -= cy
    x -= cx
    c, s = np.cos(ang), np.sin(ang)
    u = (x * c + y * s) / max(rx, 0.5)
    v = (-x * s + y * c) / max(ry, 0.5)
    d = np.sqrt(u * u + v * v)
    return np.clip((1.0 - d) * max(rx, ry) / 1.5 + 0.5, 0, 1)


def render(rng, long_side, winter=False):
    """One person: (rgb HxWx3 float, alpha HxW, shadow HxW) at final scale, and its box
    within that canvas. `winter`: winter clothing (WINTER), and one person in three lies,
    sits or bends in the snow (the whole body seen from above, turned any way)."""
    tilt = rng.choice([0.0, rng.uniform(0, 0.3), rng.uniform(0.3, 1.0)], p=[0.45, 0.3, 0.25])
    lying = winter and rng.random() < 1 / 3
    if lying:
        tilt = rng.uniform(0.4, 1.0)
    # body parts in metres, then scaled so the person's long side is `long_side` px
    sh_w, sh_d = rng.uniform(0.38, 0.52), rng.uniform(0.2, 0.3)
    head = rng.uniform(0.19, 0.24)
    torso_h, legs_h = 0.6 * tilt, 0.85 * tilt
    extent_y = sh_d + torso_h + legs_h + head * 0.6
    extent = max(sh_w + 0.12, extent_y)
    ppm = long_side / extent * SS  # supersampled pixels per metre
    sun = rng.uniform(0, 2 * np.pi)
    shadow_len = rng.uniform(0.15, 1.4)
    pad = int(ppm * 0.75) + 4  # the body only; the shadow is added at the final scale
    H = W = 2 * pad
    cy, cx = pad, pad
    rot = rng.uniform(0, 2 * np.pi) if tilt < 0.3 or lying else rng.normal(0, 0.15)
    cr, sr = np.cos(rot), np.sin(rot)

    def at(dx, dy):  # body frame (metres, y down the image) -> canvas (supersampled px)
        return cy + (dx * sr + dy * cr) * ppm, cx + (dx * cr - dy * sr) * ppm

    palette = WINTER if winter else CLOTHES
    cloth = palette[rng.integers(len(palette))] * rng.uniform(0.75, 1.15)
    pants = (WINTER[rng.integers(len(WINTER))] if winter else CLOTHES[rng.integers(7)]) * rng.uniform(0.8, 1.1)
    hair = HAIR[rng.integers(len(HAIR))]
    skin = SKIN[rng.integers(len(SKIN))]
    hat = rng.random() < 0.25
    rgb = np.zeros((H, W, 3), np.float32)
    alpha = np.zeros((H, W), np.float32)

    def draw(mask, colour, shade=True):
        nonlocal rgb, alpha
        col = np.broadcast_to(colour, (H, W, 3)).copy()
        if shade:  # lighter towards the sun, darker away
            y, x = np.mgrid[0:H, 0:W].astype(np.float32)
            g = ((x - cx) * np.cos(sun) + (y - cy) * np.sin(sun)) / (ppm * 0.5)
            col *= (1.0 - 0.18 * np.clip(g, -1, 1))[..., None]
        col *= rng.uniform(0.93, 1.07, (H, W, 1)).astype(np.float32)
        rgb = rgb * (1 - mask[..., None]) + col * mask[..., None]
        alpha = np.maximum(alpha, mask)

    # legs (tilted views): two thin ellipses below the torso, apart when walking
    top = -(torso_h + legs_h + sh_d / 2) / 2
    if tilt > 0.3:
        stride = rng.uniform(0, 0.2)
        for side in (-1, 1):
            y0, x0 = at(side * (0.08 + stride / 2), top + sh_d / 2 + torso_h + legs_h / 2)
            draw(ellipse(H, W, y0, x0, legs_h / 2 * ppm, 0.07 * ppm, rot), pants)
    # torso (tilted) or shoulders (from above)
    y0, x0 = at(0, top + sh_d / 2 + torso_h / 2)
    draw(ellipse(H, W, y0, x0, (sh_d + torso_h) / 2 * ppm, sh_w / 2 * ppm, rot), cloth)
    # arms at the sides, sometimes swinging
    for side in (-1, 1):
        swing = rng.normal(0, 0.12)
        y0, x0 = at(side * (sh_w / 2 + 0.02), top + sh_d / 2 + swing + torso_h * 0.4)
        draw(ellipse(H, W, y0, x0, (0.13 + 0.25 * tilt) * ppm, 0.055 * ppm, rot), cloth * 0.9)
    # head, on the shoulders from above, above the torso when tilted
    y0, x0 = at(rng.normal(0, 0.02), top + sh_d / 2 - 0.02 if tilt < 0.3 else top)
    draw(ellipse(H, W, y0, x0, head / 2 * ppm, head / 2 * ppm * 0.9, rot), CLOTHES[rng.integers(len(CLOTHES))] if hat else hair)
    if tilt > 0.3 and not hat:  # a face
        draw(ellipse(H, W, y0 + head * 0.12 * ppm, x0, head * 0.3 * ppm, head * 0.3 * ppm, rot), skin)
    # down to the final scale (box filter)
    h, w = H // SS, W // SS

    def down(a):
        a = a[: h * SS, : w * SS]
        return a.reshape(h, SS, w, SS, *a.shape[2:]).mean(axis=(1, 3))

    rgb, alpha = down(rgb * alpha[..., None]), down(alpha)
    rgb = rgb / np.maximum(alpha[..., None], 1e-3)
    # shadow: the alpha smeared along the direction away from the sun, on a canvas with room
    # for it (at most 16 steps)
    m = int(shadow_len * ppm / SS) + 2
    big = lambda a: np.pad(a, ((m, m), (m, m)) + ((0, 0),) * (a.ndim - 2))
    rgb, alpha = big(rgb), big(alpha)
    sh = np.zeros_like(alpha)
    dy, dx = np.sin(sun + np.pi), np.cos(sun + np.pi)
    n = max(min(m, 16), 1)
    for k in range(n + 1):
        d = (m - 2) * k / n
        sh = np.maximum(sh, np.roll(np.roll(alpha, int(round(dy * d)), 0), int(round(dx * d)), 1) * (1 - 0.3 * k / n))
    ys, xs = np.where(alpha > 0.3)
    if len(ys) == 0:
        return None
    box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    return rgb, alpha, sh, box


def blur3(a):
    k = np.array([0.25, 0.5, 0.25], np.float32)
    a = a * k[1] + np.roll(a, 1, 0) * k[0] + np.roll(a, -1, 0) * k[2]
    return a * k[1] + np.roll(a, 1, 1) * k[0] + np.roll(a, -1, 1) * k[2]


def paste(img, rng, n, size_range=(8, 40), winter=False):
    """Draw n people onto img (HxWx3 uint8, in place); return their boxes [x, y, w, h].
    `winter`: see `render`."""
    H, W = img.shape[:2]
    out = img.astype(np.float32)
    boxes = []
    for _ in range(n):
        L = float(np.exp(rng.uniform(np.log(size_range[0]), np.log(size_range[1]))))
        r = render(rng, L, winter)
        if r is None:
            continue
        rgb, alpha, sh, (bx, by, bw, bh) = r
        if rng.random() < 0.6:
            alpha, sh = blur3(alpha), blur3(sh)
            rgb = blur3(rgb)
        h, w = alpha.shape
        y0, x0 = int(rng.integers(-h // 3, H - h // 2)), int(rng.integers(-w // 3, W - w // 2))
        ys, xs = slice(max(y0, 0), min(y0 + h, H)), slice(max(x0, 0), min(x0 + w, W))
        cy, cx = slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0)
        if ys.stop <= ys.start or xs.stop <= xs.start:
            continue
        region = out[ys, xs]
        dark = rng.uniform(0.2, 0.55)
        region *= (1 - dark * sh[cy, cx])[..., None]
        a = alpha[cy, cx][..., None]
        region[:] = region * (1 - a) + rgb[cy, cx] * a
        # the box, clipped to the image; a person mostly outside is dropped
        x1, y1 = max(x0 + bx, 0), max(y0 + by, 0)
        x2, y2 = min(x0 + bx + bw, W), min(y0 + by + bh, H)
        if (x2 - x1) * (y2 - y1) >= 0.5 * bw * bh:
            boxes.append([float(x1), float(y1), float(x2 - x1), float(y2 - y1)])
    img[:] = np.clip(out, 0, 255).astype(np.uint8)
    return boxes


def branches(img, rng):
    """Draw thin dark or pale branching lines over img (HxWx3 uint8, in place): bare trees
    seen from above, which cross people in winter forests and must not read as people."""
    H, W = img.shape[:2]
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    tone = int(rng.integers(40, 120)) if rng.random() < 0.8 else int(rng.integers(150, 220))
    for _ in range(int(rng.integers(2, 9))):
        x, y = float(rng.uniform(0, W)), float(rng.uniform(0, H))
        ang, width = float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(1, 4))
        stack = [(x, y, ang, width, 0)]
        while stack:
            x, y, ang, width, depth = stack.pop()
            n = int(rng.integers(3, 8))
            for _ in range(n):
                ang += float(rng.normal(0, 0.25))
                step = float(rng.uniform(4, 12))
                nx, ny = x + np.cos(ang) * step, y + np.sin(ang) * step
                c = tuple(int(v) for v in np.clip(tone + rng.normal(0, 12, 3), 0, 255))
                d.line([(x, y), (nx, ny)], fill=c, width=max(1, int(round(width))))
                x, y = nx, ny
                if depth < 3 and rng.random() < 0.25:
                    stack.append((x, y, ang + float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.0)), width * 0.7, depth + 1))
            width *= 0.8
    img[:] = np.asarray(pil)


def snow(img, rng):
    """Turn a ground crop (HxWx3 uint8, in place) into snow seen from above: the ground is
    washed nearly white with a faint trace of its texture and a cool or warm tint, shaded by
    soft tree shadows, with trails of footprints. What was on the ground (and any person
    labelled there) is left only as a faint trace, so the caller ignores the old labels."""
    H, W = img.shape[:2]
    f = img.astype(np.float32)
    k = rng.uniform(0.08, 0.35)  # how much of the old texture shows through
    tint = np.array([rng.uniform(225, 250), rng.uniform(225, 248), rng.uniform(228, 252)], np.float32)
    f = tint - (255.0 - f.mean(axis=2, keepdims=True)) * k
    # soft shadows: low-frequency bluish-grey shading
    lo = rng.normal(0, 1, (max(H // 32, 2), max(W // 32, 2))).astype(np.float32)
    shade = np.asarray(Image.fromarray(lo).resize((W, H), Image.BICUBIC))
    f *= (1.0 - rng.uniform(0, 0.12) * np.clip(shade, 0, 2))[..., None] * np.array([0.97, 0.98, 1.0], np.float32)
    pil = Image.fromarray(np.clip(f, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(0, 4))):  # footprint trails
        x, y, ang = float(rng.uniform(0, W)), float(rng.uniform(0, H)), float(rng.uniform(0, 2 * np.pi))
        step, r = float(rng.uniform(2, 6)), float(rng.uniform(0.6, 1.8))
        tone = int(rng.integers(120, 200))
        for _ in range(int(rng.integers(10, 60))):
            ang += float(rng.normal(0, 0.1))
            x, y = x + np.cos(ang) * step, y + np.sin(ang) * step
            d.ellipse([x - r, y - r, x + r, y + r], fill=(tone, tone, min(tone + 8, 255)))
    img[:] = np.asarray(pil)
