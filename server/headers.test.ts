import { describe, expect, it } from 'vitest';
import { httpDate } from './headers.js';

describe('httpDate', () => {
  it('is toUTCString, whatever the milliseconds and however often asked', () => {
    const times = [0, 999, 1000, -1, -500, -1000, 1_764_115_509_123, 1_764_115_509_999, 1_764_115_510_000];
    for (let i = 0; i < 5000; i++) times.push(Math.floor(Math.random() * 4e12) - 1e12);
    for (const t of times) {
      expect(httpDate(new Date(t))).toBe(new Date(t).toUTCString());
      expect(httpDate(new Date(t))).toBe(new Date(t).toUTCString());
    }
    expect(httpDate(new Date(NaN))).toBe('Invalid Date');
  });
});
