/**
 * A subset of java.text.SimpleDateFormat, always in UTC (as TimestampConverter/TimestampRouter use it).
 * Letters: G y Y M L d D E u H k K h m s S a Z X z; quoted literals with '...'; '' is a quote.
 */
import { ConfigException, DataException } from '../api';

type Token = { kind: 'lit'; text: string } | { kind: 'field'; letter: string; count: number };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LETTERS = 'GyYMLdDEuHkKhmsSaZXz';

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") { out.push({ kind: 'lit', text: "'" }); i += 2; continue; }
      let j = i + 1, text = '';
      for (;;) {
        if (j >= pattern.length) throw new ConfigException(`Unterminated quote in date format pattern: ${pattern}`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") { text += "'"; j += 2; continue; }
          break;
        }
        text += pattern[j++];
      }
      out.push({ kind: 'lit', text });
      i = j + 1;
    } else if (/[a-zA-Z]/.test(c)) {
      if (!LETTERS.includes(c)) throw new ConfigException(`Illegal pattern character '${c}'`);
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ kind: 'field', letter: c, count: j - i });
      i = j;
    } else {
      out.push({ kind: 'lit', text: c });
      i++;
    }
  }
  return out;
}

const pad = (n: number, w: number) => (n < 0 ? '-' + String(-n).padStart(w, '0') : String(n).padStart(w, '0'));

export class DateFormat {
  private readonly tokens: Token[];
  private parser: { re: RegExp; fields: Token[] } | null = null;
  constructor(readonly pattern: string) {
    this.tokens = tokenize(pattern);
  }

  format(date: Date): string {
    let out = '';
    for (const t of this.tokens) {
      if (t.kind === 'lit') { out += t.text; continue; }
      const n = t.count;
      switch (t.letter) {
        case 'G': out += date.getUTCFullYear() > 0 ? 'AD' : 'BC'; break;
        case 'y': case 'Y': { const y = date.getUTCFullYear(); out += n === 2 ? pad(y % 100, 2) : pad(y, n); break; }
        case 'M': case 'L': {
          const m = date.getUTCMonth();
          out += n >= 4 ? MONTHS[m] : n === 3 ? MONTHS[m]!.slice(0, 3) : pad(m + 1, n);
          break;
        }
        case 'd': out += pad(date.getUTCDate(), n); break;
        case 'D': {
          const start = Date.UTC(date.getUTCFullYear(), 0, 1);
          out += pad(Math.floor((date.getTime() - start) / 86_400_000) + 1, n);
          break;
        }
        case 'E': { const d = DAYS[date.getUTCDay()]!; out += n >= 4 ? d : d.slice(0, 3); break; }
        case 'u': out += pad(date.getUTCDay() === 0 ? 7 : date.getUTCDay(), n); break;
        case 'H': out += pad(date.getUTCHours(), n); break;
        case 'k': out += pad(date.getUTCHours() === 0 ? 24 : date.getUTCHours(), n); break;
        case 'K': out += pad(date.getUTCHours() % 12, n); break;
        case 'h': out += pad(date.getUTCHours() % 12 === 0 ? 12 : date.getUTCHours() % 12, n); break;
        case 'm': out += pad(date.getUTCMinutes(), n); break;
        case 's': out += pad(date.getUTCSeconds(), n); break;
        case 'S': out += pad(date.getUTCMilliseconds(), n); break;
        case 'a': out += date.getUTCHours() < 12 ? 'AM' : 'PM'; break;
        case 'Z': out += '+0000'; break;
        case 'X': out += 'Z'; break;
        case 'z': out += n >= 4 ? 'Coordinated Universal Time' : 'UTC'; break;
      }
    }
    return out;
  }

  private compile(): { re: RegExp; fields: Token[] } {
    if (this.parser) return this.parser;
    let src = '^';
    const fields: Token[] = [];
    for (const t of this.tokens) {
      if (t.kind === 'lit') { src += t.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); continue; }
      fields.push(t);
      switch (t.letter) {
        case 'M': case 'L': src += t.count >= 3 ? '([A-Za-z]+)' : '(\\d{1,2})'; break;
        case 'E': case 'G': case 'a': src += '([A-Za-z]+)'; break;
        case 'y': case 'Y': src += t.count === 2 ? '(\\d{2})' : '([-+]?\\d{1,9})'; break;
        case 'S': src += '(\\d{1,9})'; break;
        case 'Z': case 'X': src += '(Z|[-+]\\d{2}(?::?\\d{2})?)'; break;
        case 'z': src += '([A-Za-z][A-Za-z ]*?|[-+]\\d{2}:?\\d{2})'; break;
        default: src += t.count > 1 ? `(\\d{${t.count}}|\\d{1,${Math.max(t.count, 2)}})` : '(\\d{1,4})';
      }
    }
    this.parser = { re: new RegExp(src + '$'), fields };
    return this.parser;
  }

  /** Parses `text`; throws DataException like TimestampConverter when it does not match. */
  parse(text: string): Date {
    const { re, fields } = this.compile();
    const m = re.exec(text);
    const fail = () => new DataException(`Could not parse timestamp: value (${text}) does not match pattern (${this.pattern})`);
    if (!m) throw fail();
    let year = 1970, month = 0, day = 1, hour = 0, minute = 0, second = 0, ms = 0, pm: boolean | null = null, offsetMin = 0, h12 = false;
    fields.forEach((t, i) => {
      const s = m[i + 1]!;
      if (t.kind !== 'field') return;
      switch (t.letter) {
        case 'y': case 'Y': year = t.count === 2 ? 2000 + Number(s) : Number(s); break;
        case 'M': case 'L': {
          if (/^\d+$/.test(s)) month = Number(s) - 1;
          else {
            month = MONTHS.findIndex((mn) => mn.toLowerCase() === s.toLowerCase() || mn.slice(0, 3).toLowerCase() === s.toLowerCase());
            if (month < 0) throw fail();
          }
          break;
        }
        case 'd': day = Number(s); break;
        case 'H': case 'k': hour = Number(s) % 24; break;
        case 'h': case 'K': hour = Number(s) % 12; h12 = true; break;
        case 'm': minute = Number(s); break;
        case 's': second = Number(s); break;
        case 'S': ms = Number(s); break;
        case 'a': pm = s.toUpperCase() === 'PM'; break;
        case 'Z': case 'X': case 'z': {
          const o = /^([-+])(\d{2}):?(\d{2})?$/.exec(s);
          if (o) offsetMin = (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3] ?? 0));
          break;
        }
        default: break;
      }
    });
    if (h12 && pm) hour += 12;
    else if (!h12 && pm === true && hour < 12) hour += 12;
    return new Date(Date.UTC(year, month, day, hour, minute, second, ms) - offsetMin * 60_000);
  }
}
