import { useEffect, type RefObject } from 'react';

/** Largest upscale: a 720×400 text console at 3× is blurry without being more readable. */
export const MAX_SCALE = 2;

export interface Fit {
  scale: number;
  left: number;
  top: number;
}

/** Scale and offset that fit a width×height picture into the box, centred, aspect kept. */
export function fitInside(box: { width: number; height: number }, picture: { width: number; height: number }, maxScale = MAX_SCALE): Fit {
  if (picture.width <= 0 || picture.height <= 0 || box.width <= 0 || box.height <= 0) return { scale: 1, left: 0, top: 0 };
  const scale = Math.min(box.width / picture.width, box.height / picture.height, maxScale);
  return { scale, left: Math.max(0, (box.width - picture.width * scale) / 2), top: Math.max(0, (box.height - picture.height * scale) / 2) };
}

/**
 * Keeps the SPICE screen (whose canvas spice-html5 creates and resizes at the guest's
 * resolution) scaled to the stage. A CSS transform, not a CSS width: spice-html5 reads mouse
 * positions from offsetX/offsetY, which browsers report in the element's untransformed
 * coordinates, so pointer positions stay in guest pixels at any scale.
 */
export function useFitToContainer(stage: RefObject<HTMLElement | null>, screen: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const box = stage.current;
    const el = screen.current;
    if (!box || !el) return;
    const apply = (): void => {
      const canvas = el.querySelector('canvas');
      const fit = fitInside({ width: box.clientWidth, height: box.clientHeight }, { width: canvas?.width ?? 0, height: canvas?.height ?? 0 });
      el.style.transform = `scale(${fit.scale})`;
      el.style.left = `${fit.left}px`;
      el.style.top = `${fit.top}px`;
    };
    const resize = new ResizeObserver(apply);
    resize.observe(box);
    // The guest changing resolution replaces or resizes the canvas.
    const mutations = new MutationObserver(apply);
    mutations.observe(el, { childList: true, subtree: true, attributes: true, attributeFilter: ['width', 'height'] });
    apply();
    return () => {
      resize.disconnect();
      mutations.disconnect();
    };
  }, [stage, screen]);
}
