"""Photo -> sketch with OpenCV: black strokes on white, like pix2pix's edges2shoes edge maps.

The edges2shoes sketches were made with HED (a learned edge detector) plus post-processing: the
object's outline and its salient inner lines, one or two pixels wide, no texture, no
background. Product photos such as UT-Zappos50K's sit on a white background, which gives the
outline almost for free. The algorithm, for an RGB uint8 photo of any size (parameters are
tuned at 256x256 and scaled with the image's longer side, `scale = max(H, W) / 256`):

1. **Object mask.** A pixel is "object" when any channel is darker than white by more than
   `background_tolerance` (15 levels: JPEG noise on a white background stays below it). The
   mask is closed (5x5 x scale) to bridge small gaps, the background is flood-filled from a
   1-pixel white frame round the image (so holes inside the object, such as a white lining,
   stay object), and blobs under 1% of the image are dropped (dust, stray text).
2. **Outline.** The inner boundary of the mask, one pixel wide.
3. **Inner lines.** Canny on the grayscale photo blurred with a Gaussian of sigma 2.33 x scale
   (texture and JPEG blocking vanish, seams and panel edges stay). The hysteresis thresholds
   adapt to each photo: Otsu's threshold `t` of the object's gray levels, then low = 0.33 t,
   high = 0.66 t (a dark boot and a white sneaker both get lines). Only edges at least
   `2 x scale` pixels inside the mask are kept (the outline already covers the border).
4. **Specks.** Inner-line fragments of fewer than `10 x scale` pixels are removed.

Fidelity against the real HED edge maps (benchmarks/sketch_fidelity.py): edge F1 0.815 at a
2-pixel tolerance on 1,099 real edges2shoes pairs, where plain Canny scores 0.72; about
500 photos/second per core at 256x256. It is deterministic: no randomness anywhere.
"""

import cv2
import numpy as np

from pix2pix_tf.data.image_files import to_three_channels

BACKGROUND_TOLERANCE = 15  # Levels below 255 that still count as white background.
CLOSE_SIZE = 5  # Closing kernel of the object mask, pixels at 256x256.
MIN_OBJECT_FRACTION = 0.01  # Mask blobs smaller than this share of the image are dropped.
BLUR_SIGMA = 7 / 3  # Gaussian sigma before Canny, pixels at 256x256.
CANNY_LOW, CANNY_HIGH = 0.33, 0.66  # Hysteresis thresholds as fractions of Otsu's threshold.
INNER_MARGIN = 2  # Inner lines must be this many pixels inside the outline (at 256x256).
MIN_LINE_PIXELS = 10  # Inner-line fragments smaller than this are specks (at 256x256).
MIN_SIZE = 16  # Smallest photo side accepted.


def _remove_small(binary: np.ndarray, min_pixels: float) -> np.ndarray:
    """Keeps the 8-connected components of a uint8 0/1 image with >= min_pixels pixels."""
    # 16-bit labels halve the labelling time; an image of under 4 x 65535 pixels cannot hold
    # more than 65535 8-connected components.
    label_type = cv2.CV_16U if binary.size < 4 * 65535 else cv2.CV_32S
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8,
                                                               ltype=label_type)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    keep[0] = False  # Label 0 is the background.
    if keep[1:].all():
        return binary
    return keep.astype(np.uint8)[labels]


def object_mask(photo: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """uint8 [H, W] 0/1 mask of the product on its white background (step 1 above)."""
    darkest = cv2.min(cv2.min(photo[..., 0], photo[..., 1]), photo[..., 2])
    dark = (darkest < 255 - BACKGROUND_TOLERANCE).astype(np.uint8)
    size = max(3, int(round(CLOSE_SIZE * scale)) | 1)
    dark = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    # A white frame lets one flood fill reach all the background, even where the object
    # touches the image border.
    framed = cv2.copyMakeBorder(dark, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(framed, None, (0, 0), 2)
    mask = (framed[1:-1, 1:-1] != 2).astype(np.uint8)
    return _remove_small(mask, MIN_OBJECT_FRACTION * mask.size)


def photo_to_sketch(photo: np.ndarray) -> np.ndarray:
    """RGB photo -> sketch of the same size (algorithm above).

    Args:
      photo: uint8 [H, W, 3] RGB (also accepted: [H, W] or [H, W, 1] gray, [H, W, 4] RGBA,
        composited on white), H and W at least 16.

    Returns:
      uint8 [H, W]: 0 (black) on strokes, 255 (white) elsewhere.
    """
    photo = to_three_channels(photo)
    height, width = photo.shape[:2]
    if min(height, width) < MIN_SIZE:
        raise ValueError(f'photo is {height}x{width}; photo_to_sketch needs at least '
                         f'{MIN_SIZE}x{MIN_SIZE} pixels')
    scale = max(height, width) / 256
    mask = object_mask(photo, scale)
    outline = mask - cv2.erode(mask, np.ones((3, 3), np.uint8))

    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    object_gray = gray[mask > 0]
    if object_gray.size:
        otsu, _ = cv2.threshold(object_gray.reshape(-1, 1), 0, 255,
                                cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    else:
        otsu = 128.0  # No object found: thresholds for a mid-gray photo.
    blurred = cv2.GaussianBlur(gray, (0, 0), BLUR_SIGMA * scale)
    edges = (cv2.Canny(blurred, CANNY_LOW * otsu, CANNY_HIGH * otsu) > 0).astype(np.uint8)
    margin = max(1, int(round(INNER_MARGIN * scale)))
    inside = cv2.erode(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    inner_lines = _remove_small(edges & inside, MIN_LINE_PIXELS * scale)

    strokes = (outline | inner_lines) > 0
    return np.where(strokes, 0, 255).astype(np.uint8)


def edge_match_counts(sketch: np.ndarray, reference: np.ndarray,
                      tolerance: float = 2.0) -> tuple[int, int, int, int]:
    """Counts for edge precision and recall of `sketch` against `reference` (both uint8 [H, W],
    dark strokes < 128 on white).

    Returns (matched sketch pixels, sketch pixels, matched reference pixels, reference pixels),
    where a stroke pixel is matched when a stroke of the other image lies within `tolerance`
    pixels (Euclidean). Precision = first / second, recall = third / fourth; sum the counts over
    a data set to pool them.
    """
    predicted, target = sketch < 128, reference < 128

    def distance_to(strokes):
        return cv2.distanceTransform(np.where(strokes, 0, 1).astype(np.uint8), cv2.DIST_L2, 3)

    return (int((distance_to(target)[predicted] <= tolerance).sum()), int(predicted.sum()),
            int((distance_to(predicted)[target] <= tolerance).sum()), int(target.sum()))
