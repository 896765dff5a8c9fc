import { neutraliseCsvCell, stringifyCsv } from './csv';

describe('CSV formula injection', () => {
  it.each(['=HYPERLINK("https://evil.example","x")', '+1+cmd|/C calc', '-2+3', '@SUM(A1)', '\t=1', '\r=1'])(
    'neutralises %j with a leading apostrophe',
    (cell) => {
      expect(neutraliseCsvCell(cell)).toBe(`'${cell}`);
    },
  );

  it.each(['Jeanne Martin', '', '-3', '+33', '-0,5', '12.5', 'a=b', ' =1', "'=1"])('leaves %j alone', (cell) => {
    expect(neutraliseCsvCell(cell)).toBe(cell);
  });

  it('applies to every text cell of an export, with any options, and not to numbers nor headers', () => {
    const csv = stringifyCsv(
      [
        ['=1+1', -3, '@x'],
        ['ok', 2.5, '-cmd'],
      ],
      { header: true, columns: ['=a', 'b', 'c'], delimiter: ';' },
    );
    expect(csv).toBe(`=a;b;c\n'=1+1;-3;'@x\nok;2.5;'-cmd\n`);
  });

  it('neutralises what a custom string cast returns too', () => {
    const csv = stringifyCsv([['x']], { cast: { string: () => '=evil()' } });
    expect(csv).toBe(`'=evil()\n`);
  });
});
