import type { Options } from 'csv-stringify';
import { stringify } from 'csv-stringify/sync';

/**
 * The characters a spreadsheet (Excel, LibreOffice, Google Sheets) reads as the start of a formula
 * or of a command when a cell begins with them: `=`, `+`, `-`, `@`, and tab or carriage return
 * (which some of them skip before looking for the formula sign).
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A plain number written as text ("-3", "+33", "-0,5"): a spreadsheet reads a number, not a formula. */
const PLAIN_NUMBER = /^[+-]?\d+(?:[.,]\d+)?$/;

/**
 * CSV formula injection ("CSV injection"): a cell whose text starts with a formula sign is
 * evaluated by the spreadsheet that opens the export (`=HYPERLINK(...)`, `=cmd|...`, `@SUM(...)`).
 * Such a cell gets a leading apostrophe, which spreadsheets show as text and never evaluate; the
 * rest of the text is kept as is. Plain numbers are left alone.
 */
export function neutraliseCsvCell(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}

/**
 * The one way this service writes CSV: csv-stringify (quoting, delimiters, BOM…) with every text
 * cell neutralised by neutraliseCsvCell, whatever the options. Numbers, dates and booleans are
 * written by csv-stringify as usual; header names are ours.
 */
export function stringifyCsv(records: unknown[][], options: Options = {}): string {
  const custom = options.cast?.string;
  return stringify(records, {
    ...options,
    cast: {
      ...options.cast,
      string: (value, context) => {
        const cast = custom ? custom(value, context) : value;
        if (context.header || cast === null) return cast;
        return typeof cast === 'string' ? neutraliseCsvCell(cast) : { ...cast, value: neutraliseCsvCell(cast.value) };
      },
    },
  });
}

/**
 * What French Excel opens as columns without an import wizard: `;` (the comma is the decimal
 * separator in a French locale), a UTF-8 byte order mark (else the accents come out as "Ã©"), CRLF
 * line ends (RFC 4180).
 */
export const FRENCH_EXCEL_CSV: Options = { delimiter: ';', bom: true, record_delimiter: 'windows' };

const PARIS_DATE_TIME = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** "2026-12-01 15:04:05", local time in Paris: a date and time every spreadsheet reads as such. */
export function csvParisDateTime(date: Date | null | undefined): string {
  return date ? PARIS_DATE_TIME.format(date) : '';
}
