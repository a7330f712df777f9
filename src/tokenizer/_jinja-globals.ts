/**
 * @module Globals for chat-template rendering (private to chat-template.ts): the ones
 * @huggingface/jinja's Template.render() would set, and a clock-free strftime for
 * `strftime_now`. Pure: no I/O, no clock.
 */

/** What Template.render() sets, minus raise_exception and strftime_now (chat-template.ts has its own). */
export const JINJA_GLOBALS: Readonly<Record<string, unknown>> = {
  true: true,
  false: false,
  none: null,
  True: true,
  False: false,
  None: null,
  range: pythonRange,
};

/** Python's range(stop) / range(start, stop[, step]). */
function pythonRange(...args: unknown[]): number[] {
  const n = args.map(Number);
  const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
  if (!Number.isInteger(start) || !Number.isInteger(stop) || !Number.isInteger(step) || !step) {
    throw new TypeError(`Cannot call range: bad arguments ${JSON.stringify(args)}`);
  }
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime in the C locale, for the directives chat templates use (UTC). */
/**
 * Formats a date.
 *
 * @param date the time
 * @param format a Python strftime format
 * @returns the text
 */
export function strftime(date: Date, format: string): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return format.replace(/%[YmdbBaAHMSyjp%]/g, (d) => {
    switch (d) {
      case "%Y":
        return String(date.getUTCFullYear());
      case "%y":
        return pad(date.getUTCFullYear() % 100);
      case "%m":
        return pad(date.getUTCMonth() + 1);
      case "%d":
        return pad(date.getUTCDate());
      case "%b":
        return MONTHS[date.getUTCMonth()]!.slice(0, 3);
      case "%B":
        return MONTHS[date.getUTCMonth()]!;
      case "%a":
        return DAYS[date.getUTCDay()]!.slice(0, 3);
      case "%A":
        return DAYS[date.getUTCDay()]!;
      case "%H":
        return pad(date.getUTCHours());
      case "%M":
        return pad(date.getUTCMinutes());
      case "%S":
        return pad(date.getUTCSeconds());
      case "%p":
        return date.getUTCHours() < 12 ? "AM" : "PM";
      case "%j": {
        const start = Date.UTC(date.getUTCFullYear(), 0, 1);
        return String(Math.floor((date.getTime() - start) / 86_400_000) + 1).padStart(3, "0");
      }
      default:
        return "%";
    }
  });
}
