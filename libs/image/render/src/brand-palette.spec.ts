import { isDomainError } from '@switchyard/contracts';
import { brandPalette, contrastRatio, parseColor } from './brand-palette';

describe('brandPalette', () => {
  it('keeps the colours the brand gave', () => {
    expect(brandPalette({ primary: '#0F4C81', secondary: '#ff9900', text: '#fefefe' })).toMatchObject({
      primary: '#0f4c81',
      secondary: '#ff9900',
      text: '#fefefe',
    });
  });

  it('derives text that reads on the primary when none is given', () => {
    expect(brandPalette({ primary: '#0f4c81' }).text).toBe('#ffffff');
    expect(brandPalette({ primary: '#ffd814' }).text).toBe('#111111');
  });

  it('derives an accent from the primary and text that reads on it', () => {
    const palette = brandPalette({ primary: '#0f4c81' });
    expect(palette.secondary).not.toBe(palette.primary);
    expect(contrastRatio(parseColor(palette.textOnSecondary, 'x'), parseColor(palette.secondary, 'x'))).toBeGreaterThanOrEqual(3);
  });

  it.each([
    [{ primary: 'blue' }],
    [{ primary: '#12345' }],
    [{ primary: '#0f4c81', secondary: 'rgb(1,2,3)' }],
    [{ primary: '#0f4c81', text: '#zzzzzz' }],
    [{} as { primary: string }],
  ])('refuses %j with VALIDATION_FAILED', (colors) => {
    let caught: unknown;
    try {
      brandPalette(colors);
    } catch (error) {
      caught = error;
    }
    expect(isDomainError(caught, 'VALIDATION_FAILED')).toBe(true);
  });
});
