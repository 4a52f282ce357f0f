// Likely personal data in a free text, found on the phone before it is saved (offline too): the rules of
// donoharm/privacy/detector.py, with the same patterns written the same way. Both are checked against one
// table of cases (tests/fixtures/personal_data.json), and a test compares the patterns themselves.
// What it cannot catch (names, ages in words, other languages, ...) is written at the top of detector.py.
//
// Offsets count UTF-16 code units (JavaScript string indices, as a textarea's selection does); the server
// counts code points. They differ only after a character outside the Basic Multilingual Plane (an emoji);
// Latin, Khmer and Thai text gives the same numbers.

const KINDS = ["age", "phone", "email", "id_number", "date_of_birth", "address"];

// A pattern in which capitals matter (a street name, a printed document code); others ignore case.
const cased = (source) => ({ source, cased: true });

// Building blocks, written <NAME> in the patterns and expanded before compiling (as in detector.py).
const PARTS = {
  D: String.raw`[0-9\u0e50-\u0e59\u17e0-\u17e9]`, // a digit: Western, Thai (๐-๙) or Khmer (០-៩)
  N: String.raw`<D>{1,3}`, // a number that can be an age
  S: String.raw`[ \t\u00a0\u202f\u200b]`, // a space inside a phrase (no-break spaces; Khmer uses U+200B)
  B: String.raw`[0-9A-Za-z\u00c0-\u024f\u0e50-\u0e59\u17e0-\u17e9]`, // what a match must not touch (isJoined)
  L: String.raw`[A-Za-z\u00c0-\u024f]`, // a Latin letter, accents included
  CAP: String.raw`[A-Z\u00c0-\u00d6\u00d8-\u00de]`, // the capital starting a street name
  Q: String.raw`['\u2019]`, // an apostrophe
  TH: String.raw`[\u0e01-\u0e4e]`, // a Thai letter or vowel sign
  MONTH: String.raw`(?:january|february|march|april|may|june|july|august|september|october|november|december`
    + String.raw`|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec`
    + String.raw`|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre`
    + String.raw`|diciembre|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre`
    + String.raw`|d[ée]cembre|มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม`
    + String.raw`|พฤศจิกายน|ธันวาคม|ม\.ค\.|ก\.พ\.|มี\.ค\.|เม\.ย\.|พ\.ค\.|มิ\.ย\.|ก\.ค\.|ส\.ค\.|ก\.ย\.|ต\.ค\.`
    + String.raw`|พ\.ย\.|ธ\.ค\.|មករា|កុម្ភៈ|មីនា|មេសា|ឧសភា|មិថុនា|កក្កដា|សីហា|កញ្ញា|តុលា|វិច្ឆិកា|ធ្នូ)`,
  DATE: String.raw`(?:<D>{4}[\-/.]<D>{1,2}[\-/.]<D>{1,2}` // 2009-03-01
    + String.raw`|<D>{1,2}[\-/.]<D>{1,2}[\-/.]<D>{2,4}` // 01/03/2009, 1.3.09
    // 1 March 2009, 1er mars 2009, 1 de marzo de 2009, 1 มีนาคม พ.ศ. 2552, ១ ខែមីនា ឆ្នាំ ២០០៩
    + String.raw`|<D>{1,2}(?:st|nd|rd|th|er|º|°)?<S>*(?:(?:de|of)<S>+)?(?:ខែ<S>*)?<MONTH>\.?,?<S>*(?:de<S>+)?`
    + String.raw`(?:(?:พ\.ศ\.|ค\.ศ\.|ឆ្នាំ)<S>*)?<D>{4}`
    + String.raw`|<MONTH>\.?<S>+<D>{1,2}(?:st|nd|rd|th)?,?<S>*<D>{4}` // March 1, 2009
    + String.raw`|<D>{4})`, // a year alone, after a birth keyword: "born in 2009"
  DOB_KEY: String.raw`(?:date<S>+of<S>+birth|birth<S>*date|d\.?o\.?b\.?|born`
    + String.raw`|fecha<S>+de<S>+nacimiento|f\.<S>*nac\.|nacid[oa]|naci[óo]`
    + String.raw`|date<S>+de<S>+naissance|n[ée]e|né(?:\(e\))?`
    + String.raw`|ថ្ងៃខែឆ្នាំកំណើត|ថ្ងៃកំណើត|កើត`
    + String.raw`|วัน(?:/เดือน/ปี|เดือนปี)?เกิด|ปีเกิด|เกิด(?:เมื่อ(?:วันที่)?|วันที่|ปี))`,
  DOB_LINK: String.raw`(?:<S>|[:,\-]|on|in|the|el|en|le|ที่|วันที่|ปี|พ\.ศ\.|ค\.ศ\.|នៅ|ថ្ងៃទី|ទី|ឆ្នាំ){0,8}`,
  ID_KEY: String.raw`(?:passport|id(?:entity)?<S>*card|identity<S>+number|national<S>+id|id|ssn|dni|nie|nif`
    + String.raw`|pasaporte|c[ée]dula(?:<S>+de<S>+identidad)?|documento<S>+de<S>+identidad|documento`
    + String.raw`|passeport|carte<S>+d<Q>identit[ée]|pi[èe]ce<S>+d<Q>identit[ée]|cni|titre<S>+de<S>+s[ée]jour`
    + String.raw`|លិខិតឆ្លងដែន|អត្តសញ្ញាណប័ណ្ណ`
    + String.raw`|หนังสือเดินทาง|บัตรประ(?:จ(?:ำ|ํา)ตัวประ)?ชาชน|เลขประจ(?:ำ|ํา)ตัว(?:ประชาชน)?)`,
  ID_LINK: String.raw`(?:<S>|[:#.,\-]|n[º°o]\.?|no\.?|nr\.?|number|num\.?|n[úu]mero|num[ée]ro|de|del`
    + String.raw`|เลขที่|เลข|ที่|លេខ){0,6}`,
  CUR: String.raw`(?:[$€£¥฿៛]|us\$|usd|eur|gbp|thb|khr|euros?|dollars?|d[óo]lares|pesos|bahts?|riels?`
    + String.raw`|บาท|ดอลลาร์|រៀល|ដុល្លារ)`,
  AMOUNT: String.raw`(?:<D>{1,3}(?:[ .,\u00a0\u202f]<D>{3})+(?:[.,]<D>{1,2})?|<D>{1,15}(?:[.,]<D>{1,2})?)`,
  PSEP: String.raw`(?:<S>?-<S>?|<S>?\(|\)<S>?|\.|<S>)`, // between the digits of a phone number
  TH_COUNTED: String.raw`(?!<S>*(?:คน|นาย|คัน|ครั้ง|นาที|ชั่วโมง|วัน|เดือน|ปี|ราย|แห่ง))`, // "3 คน" is a count
  KM_COUNTED: String.raw`(?!<S>*(?:នាក់|ដង|នាទី|ម៉ោង|គ្រឿង|ថ្ងៃ|ខែ|ឆ្នាំ))`, // "៣ នាក់" is a count
};

// Text that looks like personal data and is not: claimed first, never reported.
const ORDINARY = [
  // An operation label (OP-2026-014) is not a phone number; a label-shaped document number still is an ID.
  String.raw`(?=[A-Za-z][A-Za-z0-9]{0,19}-)(?!(?:<ID_KEY>|tel|t[ée]l|phone|fax|mob)-)(?=[A-Za-z0-9\-]{0,60}[0-9])`
    + String.raw`[A-Za-z][A-Za-z0-9]{0,19}(?:-[A-Za-z0-9]{1,20}){1,5}`,
  // An event id or a checksum (0b9a3c1e-0000-4000-8000-00000000dead, a sha256) is not a phone number.
  String.raw`[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{32,128}`,
  // An amount of money: "1 250 000 €", "1.250.000 pesos", "1,500 บาท".
  String.raw`(?:<CUR><S>?<AMOUNT>|<AMOUNT><S>?<CUR>)`,
  // A span of time: "21.30-22.15".
  String.raw`<D>{1,2}[:.h]<D>{2}<S>?[\-–]<S>?<D>{1,2}[:.h]<D>{2}`,
  // How long, not how old: "hace 15 años", "depuis 15 ans", "il y a 15 ans".
  String.raw`(?:hace|durante|desde<S>+hace|desde|cada|(?:los<S>+)?(?:[úu]ltimos|pr[óo]ximos))<S>+<N><S>+años?`,
  String.raw`(?:il<S>+y<S>+a|depuis|pendant|dans|tous<S>+les|(?:les<S>+)?(?:derni[eè]res?|prochaines?))<S>+<N><S>*ans?`,
  // When an incident happened (Thai "เหตุเกิดเมื่อวันที่ ..."), not when someone was born.
  String.raw`เหตุ(?:การณ์)?(?:นี้)?เกิด(?:ขึ้น)?(?:เมื่อ)?<DOB_LINK><DATE>`,
];

// E-mail addresses: anything@domain.tld.
const EMAIL = [
  String.raw`[A-Za-z0-9\u00c0-\u024f._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}`,
];

// Dates of birth: a birth keyword followed by a date or a year ("born 2009-03-01", "née le 1er mars 2009").
const DATE_OF_BIRTH = [
  String.raw`<DOB_KEY><DOB_LINK><DATE>`,
];

// Passport and ID numbers: a document keyword followed by a number with at least 5 digits, or a printed
// document code on its own: up to 3 capitals and 5 or more digits (X1234567), or digits and a capital
// (12345678Z), 6 to 12 characters in all.
const ID_NUMBER = [
  String.raw`<ID_KEY><ID_LINK>(?:[A-Z]{1,3}<S>?-?<S>?)?<D>(?:[\- ]?<D>){4,19}[A-Z]?`,
  cased(String.raw`(?=(?:[A-Z]|<D>){6,12}(?!<B>))(?:[A-Z]{1,3}<D>{5,11}[A-Z]?|<D>{5,11}[A-Z])`),
];

// Street addresses: a house number next to a street word, with a capitalised street name so that "2 cars
// blocked the road" is not one.
const ADDRESS = [
  // 12 Example Street, 3B Example Road (a year is not a house number: "in 2026 Example Street was closed")
  cased(String.raw`(?!(?:19|20)<D>{2}<S>)<D>{1,5}<L>?,?<S>+(?:<CAP><L>*<S>+){1,3}`
    + String.raw`(?:[Ss]treet|St|[Rr]oad|Rd|[Aa]venue|Ave|[Ll]ane|Ln|[Bb]oulevard|Blvd|[Dd]rive|Dr|[Ww]ay|[Cc]lose`
    + String.raw`|[Cc]ourt|Ct|[Pp]lace|Pl|[Ss]quare|Sq|[Tt]errace|[Cc]rescent|[Hh]ighway|Hwy|[Gg]ardens|[Rr]ow)\.?`),
  // Calle Ejemplo 45, Avenida del Ejemplo, 12, C/ Ejemplo nº 3
  cased(String.raw`(?:C/<S>*|(?:[Cc]alle|[Aa]venida|[Aa]vda\.|[Aa]v\.|[Pp]laza|[Pp]aseo|[Cc]arrera|[Cc]amino|[Pp]asaje`
    + String.raw`|[Rr]onda|[Tt]raves[íi]a|[Cc]arretera)<S>+)(?:(?:de|del|la|las|los|el)<S>+)*<CAP><L>*`
    + String.raw`(?:<S>+(?:(?:de|del|la|las|los|el|y)<S>+)*<CAP><L>*){0,3},?<S>*(?:(?:n[º°o]\.?|#)<S>*)?<D>{1,5}<L>?`),
  // Calle 10 # 5-20 (numbered streets in Latin America)
  cased(String.raw`(?:[Cc]alle|[Cc]arrera|[Aa]venida|[Dd]iagonal|[Tt]ransversal)<S>+<D>{1,3}<L>?<S>*(?:#|[Nn][º°o]\.?)`
    + String.raw`<S>*<D>{1,3}<L>?(?:<S>?-<S>?<D>{1,3})?`),
  // 45 rue de l'Exemple, 12, avenue de l'Exemple, 3 bis place du Marché
  cased(String.raw`<D>{1,4}(?:<S>?(?:bis|ter))?,?<S>+(?:[Rr]ue|[Aa]venue|[Aa]v\.|[Bb]oulevard|[Bb]d|[Pp]lace|[Cc]hemin`
    + String.raw`|[Ii]mpasse|[Aa]ll[ée]e|[Qq]uai|[Rr]oute|[Ss]quare|[Pp]assage|[Cc]ours)<S>+`
    + String.raw`(?:(?:de|du|des|la|le|les)<S>+|[dlDL]<Q>)*<CAP><L>*`),
  // Khmer: ផ្ទះលេខ ១២ (house number), ផ្លូវលេខ 123 / ផ្លូវ ២៧១ (street number)
  String.raw`(?:ផ្ទះ|ផ្លូវ)<S>*(?:លេខ<S>*)?<D>{1,5}(?:<S>?/<S>?<D>{1,4})?<KM_COUNTED>`,
  // Thai: บ้านเลขที่ 12 (house number), เลขที่ 45/6, ซอย 5 / ซอยตัวอย่าง 5, ถนนตัวอย่าง 12, 45/6 ถนน...
  String.raw`บ้านเลขที่<S>*<D>{1,5}(?:/<D>{1,4})?`,
  String.raw`เลขที่<S>*<D>{1,5}/<D>{1,4}`,
  String.raw`(?:ซอย|ซ\.)<S>*<TH>{0,15}<S>*<D>{1,4}<TH_COUNTED>`,
  String.raw`(?:ถนน|ถ\.)<S>*<TH>{1,15}<S>*<D>{1,4}<TH_COUNTED>`,
  String.raw`<D>{1,5}/<D>{1,4}<S>*(?:ถนน|ถ\.|ซอย|ซ\.)`,
];

// Ages: a number with a word that makes it an age. Keyword forms come first so that the keyword is part of
// what is shown ("âgée de 15 ans", not only "15 ans"). A bare "15 years" is a duration and is not flagged.
const AGE = [
  String.raw`<N><S>?-?<S>?(?:years?|yrs?|months?)<S>?-?<S>?old`, // 15-year-old, 15 years old, a 6-month-old
  String.raw`<N><S>?(?:yo|y\.o\.?|y/o)`, // 15yo, 15 y/o
  String.raw`[âa]ged?(?:<S>*:|<S>+(?:of|de))?<S>*<N>`, // aged 15, age 15, age: 15, age of 15, âge : 15
  String.raw`[âa]g[ée]e?s?<S>+de<S>+<N>(?:<S>*ans)?`, // âgée de 15 ans
  String.raw`edad(?:<S>*:|<S>+de)?<S>*<N>`, // edad: 15, edad de 15
  String.raw`(?:de<S>+)?(?:1<S>*año|<N><S>*años)(?:<S>+de<S>+edad)?`, // 15 años, de 15 años
  String.raw`(?:1<S>*an|<N><S>*ans)`, // 15 ans
  String.raw`អាយុ(?:ប្រហែល)?<S>*<N>(?:<S>*ឆ្នាំ)?`, // អាយុ ១៥ ឆ្នាំ (aged 15 years)
  String.raw`อายุ(?:ประมาณ|ราว)?<S>*<N>(?:<S>*(?:ปี|ขวบ))?`, // อายุ 15 ปี (aged 15 years)
  String.raw`<N><S>*ขวบ`, // 15 ขวบ (15 years old, of a child)
];

// Phone numbers: 7 to 15 digits in groups, international (+44 7700 900123) or local ((555) 555-0123,
// 06.12.34.56.78, 0812345678); a separator is one space, a dash, a dot or parentheses, never a colon (a time)
// or a slash (a date). Dates (12.03.2026, 2026-03-01) and pairs of years (2025-2026, 2025 2026) are not phone
// numbers.
const PHONE = [
  String.raw`(?!(?:<D>{4}[\-.]<D>{1,2}[\-.]<D>{1,2}|<D>{1,2}[\-.]<D>{1,2}[\-.]<D>{2,4})(?![\-.]?<D>))`
    + String.raw`(?!(?:19|20|25)[0-9]{2}(?:<S>?-<S>?|<S>)(?:19|20|25)[0-9]{2}(?!<D>))`
    + String.raw`\(?\+?<D>(?:<PSEP>?<D>){6,14}`,
];

// The order in which the lists claim text (see detector.py's docstring).
const RULES = [["email", EMAIL], [null, ORDINARY], ["date_of_birth", DATE_OF_BIRTH], ["id_number", ID_NUMBER],
  ["address", ADDRESS], ["age", AGE], ["phone", PHONE]];

// The pattern with its <PARTS> written out (parts may use other parts).
export function expand(pattern) {
  for (;;) {
    const expanded = pattern.replace(/<([A-Z_]+)>/g, (_, name) => PARTS[name]);
    if (expanded === pattern) return expanded;
    pattern = expanded;
  }
}

// Every rule as compiled, in order: [{kind, source, cased}] (the test compares them with detector.py's).
// Every match must end apart from a Latin letter or a digit; where it starts is checked by isJoined.
export const PATTERNS = RULES.flatMap(([kind, patterns]) => patterns.map((pattern) => {
  const isCased = typeof pattern !== "string";
  return { kind, source: expand(`(?:${isCased ? pattern.source : pattern})(?!<B>)`), cased: isCased };
}));
const COMPILED = PATTERNS.map(({ kind, source, cased: isCased }) => ({
  kind, regex: new RegExp(source, isCased ? "gu" : "giu"),
}));
const JOINED = new RegExp(expand("<B>"), "u");
// Turkish İ and ı are the letters Python's and JavaScript's regular expressions fold differently when case is
// ignored (Python reads them as i and I); both read them as another accented letter of the same length.
const sameInBoth = (text) => text.replace(/\u0130/g, "\u00cc").replace(/\u0131/g, "\u00ec");

// True when the text before `start` ends in a Latin letter or a digit: "age 15" in "page 15" is not an age.
// (Checked by hand rather than with a lookbehind, which older phones' browsers do not understand.)
function isJoined(text, start) {
  return start > 0 && JOINED.test(text[start - 1]);
}

// Every likely piece of personal data in the text, in order, without overlaps: [{kind, start, end, text}],
// kind one of KINDS; start and end in UTF-16 code units.
// Every kind needs a digit (an age, a number, a date, a house number) or an @ (an e-mail address): a text with
// neither is passed at once, as on the server.
const WORTH_READING = new RegExp(expand("<D>|@"), "u");

export function findPersonalData(text) {
  if (!text) return [];
  text = String(text);
  if (!WORTH_READING.test(text)) return [];
  const read = sameInBoth(text);
  const claimed = [];
  for (const { kind, regex } of COMPILED) {
    let position = 0;
    while (position <= read.length) {
      regex.lastIndex = position;
      const match = regex.exec(read);
      if (!match) break;
      const start = match.index;
      const end = start + match[0].length;
      if (end === start || isJoined(read, start) || claimed.some((c) => c.start < end && start < c.end)) {
        position = start + 1;
        continue;
      }
      claimed.push({ kind, start, end });
      position = end;
    }
  }
  return claimed.sort((a, b) => a.start - b.start).filter((c) => c.kind !== null)
    .map(({ kind, start, end }) => ({ kind, start, end, text: text.slice(start, end) }));
}

export { KINDS };
