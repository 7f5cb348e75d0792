/**
 * Capabilities travel as bitmaps of uint32 words: capability N is bit N % 32 of word
 * N / 32. The codec keeps them as words (exactly what is on the wire, nothing lost);
 * these helpers convert to and from capability numbers.
 */

const BITS_PER_WORD = 32;

/** Capability numbers → bitmap words, e.g. [0, 3] → [0x9]. */
export function capsToWords(caps: readonly number[]): number[] {
  const words: number[] = [];
  for (const cap of caps) {
    if (!Number.isInteger(cap) || cap < 0 || cap >= 1024 * BITS_PER_WORD) {
      throw new RangeError(`capability number out of range: ${cap}`);
    }
    const index = Math.floor(cap / BITS_PER_WORD);
    while (words.length <= index) words.push(0);
    // >>> 0 keeps bit 31 from turning the word negative.
    words[index] = ((words[index] ?? 0) | (1 << cap % BITS_PER_WORD)) >>> 0;
  }
  return words;
}

/** Bitmap words → sorted capability numbers, e.g. [0xb] → [0, 1, 3]. */
export function wordsToCaps(words: readonly number[]): number[] {
  const caps: number[] = [];
  words.forEach((word, index) => {
    for (let bit = 0; bit < BITS_PER_WORD; bit++) {
      if ((word >>> bit) & 1) caps.push(index * BITS_PER_WORD + bit);
    }
  });
  return caps;
}

/** True when capability `cap` is set; words missing from a short bitmap count as zero. */
export function hasCap(words: readonly number[], cap: number): boolean {
  const word = words[Math.floor(cap / BITS_PER_WORD)] ?? 0;
  return ((word >>> cap % BITS_PER_WORD) & 1) === 1;
}
