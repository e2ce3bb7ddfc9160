using System.Collections.Concurrent;
using System.Globalization;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Dosing;

/// <summary>
/// Reads a free-text sig ("0.5 mg TID", "1 tab bid prn anxiety, do not exceed 3 tabs/day", "100 mg QAM, 200 mg QHS")
/// into dosage lines a pharmacist would write down, with <see cref="DosageFact.ParsedFromText"/> set.
/// </summary>
/// <remarks>
/// A hand-written scanner and a small recursive-descent reader over words: no regular expressions, so no
/// backtracking, and linear in the length of the text. The words (frequencies after HL7 v3 GTSAbbreviation and their
/// spellings, routes with their SNOMED CT concepts, units, number words, PRN and maximum markers, instruction words)
/// are data: the sig vocabulary CodeSystem in fhir-profiles, given as <see cref="SigVocabulary"/>; this class holds
/// only the grammar that combines them (docs/rules/daily-dose.md). Results use the FHIR R4 Timing.repeat elements
/// (frequency, frequencyMax, period, periodMax, periodUnit). Epic's "(0.5 mg total)" and "3 (three) times" and Oracle
/// Health's "1 tab(s), PO, BID" fields are read as written.
/// A drug name, salt or dose form before the first dose is skipped ("Clonazepam 0.5 mg TID"); a product strength
/// followed by a sig ("lorazepam 1 mg tablet, 1 tab bid") is dropped in favour of the sig; a bare product name with
/// its strength ("lorazepam 2 MG/ML Oral Solution") is not a sig and yields no dosage. Anything else the reader
/// cannot place is returned verbatim in <see cref="SigParseResult.UnparsedParts"/>: the calculator turns it into an
/// explicit unknown rather than a guess.
/// </remarks>
public sealed class SigTextParser(SigVocabulary vocabulary) : ISigTextParser
{
    /// <summary>The words this parser knows (the sig vocabulary CodeSystem in fhir-profiles).</summary>
    public SigVocabulary Vocabulary { get; } = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));

    /// <summary>How many distinct sig texts are remembered; the memory is emptied when it is full.</summary>
    internal const int MemoCapacity = 2048;

    /// <summary>Longer texts are parsed every time (a sig is a line; a long text is rarely seen twice).</summary>
    internal const int MemoMaxTextLength = 256;

    // The same sigs recur across charts ("Take 1 tablet by mouth 2 (two) times daily."), and a parse costs about 10 us
    // and 5-8 KB. The result depends only on the text and this parser's vocabulary (fixed for the instance), so a
    // result is remembered by its exact text. Bounded by count and text length, so request text cannot grow it; safe
    // for concurrent hook calls (the results are immutable: read-only lists of records).
    private readonly ConcurrentDictionary<string, SigParseResult> _memo = new(StringComparer.Ordinal);
    private int _memoCount;

    /// <summary>How many sig texts are remembered now (for tests of the bound).</summary>
    internal int MemoCount => _memo.Count;

    public SigParseResult Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MemoMaxTextLength)
        {
            return ParseText(text);
        }

        if (_memo.TryGetValue(text, out var remembered))
        {
            return remembered;
        }

        var result = Freeze(ParseText(text));
        if (Interlocked.Increment(ref _memoCount) > MemoCapacity)
        {
            _memo.Clear();
            Volatile.Write(ref _memoCount, 1); // this one, added below
        }

        return _memo.GetOrAdd(text, result);
    }

    /// <summary>The result with read-only lists, so a remembered result cannot be changed by a caller.</summary>
    private static SigParseResult Freeze(SigParseResult result) =>
        new(result.Dosages.ToArray().AsReadOnly(), result.Unparsed) { UnparsedParts = result.UnparsedParts.ToArray().AsReadOnly() };

    private SigParseResult ParseText(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new SigParseResult([], null);
        }

        return new Reader(text, Normalize(Tokenizer.Tokenize(text), Vocabulary), Vocabulary).Read();
    }

    /// <summary>
    /// Drops what EHRs write twice: a number word in parentheses after its number ("3 (three) times", Epic), the
    /// number after its word ("two(2) times"), and a plural marker written onto a word ("1 tab(s)", "11 refill(s)",
    /// Oracle Health). Only an exact repetition is dropped; "2 (three)" is kept and left unreadable.
    /// </summary>
    private static List<Token> Normalize(List<Token> tokens, SigVocabulary vocabulary)
    {
        var result = new List<Token>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            result.Add(tokens[i]);
            if (i + 3 < tokens.Count && tokens[i + 1] is { Kind: TokenKind.Punct, Text: "(" } && tokens[i + 3] is { Kind: TokenKind.Punct, Text: ")" })
            {
                var (first, inner) = (tokens[i], tokens[i + 2]);
                var repeated =
                    (first.Kind == TokenKind.Number && inner.Kind == TokenKind.Word && vocabulary.Word(SigTermKind.Number, inner.Text)?.Value == first.Value)
                    || (first.Kind == TokenKind.Word && inner.Kind == TokenKind.Number && vocabulary.Word(SigTermKind.Number, first.Text)?.Value == inner.Value)
                    || (first.Kind == TokenKind.Word && inner is { Kind: TokenKind.Word, Text: "s" } && first.End == tokens[i + 1].Start);
                if (repeated)
                {
                    i += 3;
                }
            }
        }

        return result;
    }

    internal enum TokenKind
    {
        Number,
        Word,
        Punct,

        /// <summary>"q6h", "q12h", "q4": every N (unit in <see cref="Token.Text"/> after the number, may be empty).</summary>
        Every,
    }

    internal readonly record struct Token(TokenKind Kind, string Text, decimal Value, int Start, int End, bool IsFraction = false);

    /// <summary>Splits text into numbers, words (lower case, dots removed: "b.i.d." is "bid") and punctuation.</summary>
    internal static class Tokenizer
    {
        public static List<Token> Tokenize(string text)
        {
            var raw = new List<Token>();
            var i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }

                if (c is '½' or '¼' or '¾')
                {
                    raw.Add(new Token(TokenKind.Number, c.ToString(), c switch { '½' => 0.5m, '¼' => 0.25m, _ => 0.75m }, i, i + 1, IsFraction: true));
                    i++;
                    continue;
                }

                if (char.IsLetterOrDigit(c) || (c == '.' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
                {
                    var start = i;
                    while (i < text.Length && (char.IsLetterOrDigit(text[i])
                        || (text[i] == '.' && i + 1 < text.Length && char.IsLetterOrDigit(text[i + 1]))))
                    {
                        i++;
                    }

                    // A dot closing an abbreviation ("b.i.d.", "max.") belongs to the word.
                    if (i < text.Length && text[i] == '.' && char.IsLetter(text[i - 1]))
                    {
                        i++;
                    }

                    Classify(text[start..i], start, raw);
                    continue;
                }

                var punct = c switch
                {
                    '–' or '—' or '‑' or '−' => "-",
                    _ => c.ToString(),
                };
                raw.Add(new Token(TokenKind.Punct, punct, 0, i, i + 1));
                i++;
            }

            return MergeFractions(raw);
        }

        private static void Classify(string raw, int start, List<Token> tokens)
        {
            if (char.IsDigit(raw[0]) || raw[0] == '.')
            {
                var end = 0;
                var dots = 0;
                while (end < raw.Length && (char.IsDigit(raw[end]) || (raw[end] == '.' && dots++ == 0)))
                {
                    end++;
                }

                var numberText = raw[..end].TrimEnd('.');
                if (decimal.TryParse(numberText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
                {
                    tokens.Add(new Token(TokenKind.Number, numberText, value, start, start + numberText.Length));
                    var rest = raw[numberText.Length..];
                    if (rest.Length > 0 && char.IsLetter(rest[0]))
                    {
                        Classify(rest, start + numberText.Length, tokens);
                    }
                    else if (rest.Length > 0)
                    {
                        tokens.Add(new Token(TokenKind.Word, rest.ToLowerInvariant(), 0, start + numberText.Length, start + raw.Length));
                    }

                    return;
                }
            }

            var word = raw.Replace(".", "", StringComparison.Ordinal).ToLowerInvariant();
            if (word.Length >= 2 && word[0] == 'q' && char.IsDigit(word[1]))
            {
                var end = 1;
                while (end < word.Length && char.IsDigit(word[end]))
                {
                    end++;
                }

                var unit = word[end..];
                if (unit.All(char.IsLetter)
                    && decimal.TryParse(word[1..end], NumberStyles.None, CultureInfo.InvariantCulture, out var every))
                {
                    tokens.Add(new Token(TokenKind.Every, unit, every, start, start + raw.Length));
                    return;
                }
            }

            tokens.Add(new Token(TokenKind.Word, word, 0, start, start + raw.Length));
        }

        /// <summary>"1/2" (written together) is a half; "1 1/2" and "1½" are one and a half.</summary>
        private static List<Token> MergeFractions(List<Token> raw)
        {
            var merged = new List<Token>(raw.Count);
            for (var i = 0; i < raw.Count; i++)
            {
                var t = raw[i];
                if (t.Kind == TokenKind.Number && i + 2 < raw.Count && raw[i + 1] is { Kind: TokenKind.Punct, Text: "/" } slash
                    && raw[i + 2] is { Kind: TokenKind.Number } denominator && slash.Start == t.End && denominator.Start == slash.End
                    && denominator.Value != 0 && decimal.IsInteger(t.Value) && decimal.IsInteger(denominator.Value))
                {
                    t = new Token(TokenKind.Number, $"{t.Text}/{denominator.Text}", t.Value / denominator.Value, t.Start, denominator.End, IsFraction: true);
                    i += 2;
                }

                if (t is { Kind: TokenKind.Number, IsFraction: true } && t.Value < 1 && merged.Count > 0
                    && merged[^1] is { Kind: TokenKind.Number, IsFraction: false } whole && decimal.IsInteger(whole.Value))
                {
                    merged[^1] = new Token(TokenKind.Number, $"{whole.Text} {t.Text}", whole.Value + t.Value, whole.Start, t.End, IsFraction: true);
                    continue;
                }

                merged.Add(t);
            }

            return merged;
        }
    }

    /// <summary>The vocabulary look-ups the reader makes, by word (the sig vocabulary CodeSystem in fhir-profiles).</summary>
    private sealed class Units(SigVocabulary vocabulary)
    {
        public (string Unit, string Code)? Lookup(string word) =>
            vocabulary.Word(SigTermKind.DoseUnit, word) is { Ucum: { } code } term ? (term.UnitText ?? term.Display, code) : null;

        public bool IsMass(string code) => vocabulary.IsMassUnit(code);

        public bool IsVolumeWord(string? word) => vocabulary.Word(SigTermKind.DoseUnit, word) is { IsVolume: true };

        public decimal? NumberWord(string word) => vocabulary.Word(SigTermKind.Number, word)?.Value;

        public decimal? TimesWord(string word) => vocabulary.Word(SigTermKind.Times, word)?.Value;

        /// <summary>FHIR periodUnit (UCUM) for a written period.</summary>
        public string? Period(string? word) => vocabulary.Word(SigTermKind.PeriodUnit, word)?.Ucum;

        /// <summary>Dose forms, salts and release words that may follow a strength ("0.5 mg tablet", "2 MG/ML Oral Solution").</summary>
        public bool IsFormWord(string word) => vocabulary.Is(SigTermKind.Form, word);

        /// <summary>Words that change what the sig means; never skipped as part of a drug name.</summary>
        public bool IsInstructionWord(string word) => vocabulary.Is(SigTermKind.Instruction, word);

        /// <summary>Words that carry nothing for the arithmetic ("take", "by", "with food").</summary>
        public bool IsFiller(string word) => vocabulary.Is(SigTermKind.Filler, word);
    }

    private sealed record Frequency(decimal Count, decimal? CountMax, decimal Period, decimal? PeriodMax, string Unit, string Label)
    {
        public bool IsOncePerDay => Count == 1 && CountMax is null && Period == 1 && PeriodMax is null && Unit == "d";
    }

    private sealed class Clause
    {
        public QuantityFact? Dose { get; set; }
        public QuantityFact? RangeLow { get; set; }
        public bool StrengthLike { get; set; }
        public bool UnitInherited { get; set; }
        public int DosesPerAdministration { get; set; } = 1;
        public bool RouteIsGeneric { get; set; }
        public bool StatedTotal { get; set; }
        public Frequency? Frequency { get; set; }
        public bool AsNeeded { get; set; }
        public RatioFact? MaxPerPeriod { get; set; }
        public QuantityFact? MaxPerAdministration { get; set; }
        public string? Route { get; set; }
        public int Start { get; set; } = -1;
        public int End { get; set; }

        public bool HasDose => Dose is not null;
        public bool IsEmpty => Dose is null && Frequency is null && !AsNeeded && MaxPerPeriod is null && MaxPerAdministration is null && Route is null;
        public bool HasInstruction => Frequency is not null || AsNeeded || MaxPerPeriod is not null || MaxPerAdministration is not null;

        public void Touch(Token first, Token last)
        {
            if (Start < 0 || first.Start < Start)
            {
                Start = first.Start;
            }

            End = Math.Max(End, last.End);
        }
    }

    private sealed class Reader(string text, List<Token> tokens, SigVocabulary vocabulary)
    {
        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
        private readonly Units _units = new(vocabulary);
        private readonly List<Clause> _clauses = [];
        private readonly List<(int Start, int End)> _unparsed = [];
        private Clause _clause = new();
        private int _pos;
        private bool _sawStrength;

        public SigParseResult Read()
        {
            SkipPrefix();
            while (_pos < tokens.Count)
            {
                Step();
            }

            Finish();
            return Assemble();
        }

        private Token At(int i) => tokens[i];

        private bool IsWord(int i, string word) => i < tokens.Count && tokens[i].Kind == TokenKind.Word && tokens[i].Text == word;

        private bool IsPunct(int i, string punct) => i < tokens.Count && tokens[i].Kind == TokenKind.Punct && tokens[i].Text == punct;

        /// <summary>True when the words (or punctuation) at <paramref name="i"/> spell <paramref name="words"/>.</summary>
        private bool Matches(int i, params string[] words)
        {
            for (var k = 0; k < words.Length; k++)
            {
                if (i + k >= tokens.Count || tokens[i + k].Kind is not (TokenKind.Word or TokenKind.Punct) || tokens[i + k].Text != words[k])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Skips a drug name, salt or dose form ahead of the first dose ("Clonazepam", "24 HR lamotrigine").</summary>
        private void SkipPrefix()
        {
            while (_pos < tokens.Count)
            {
                var t = At(_pos);
                if (StartsSomething(_pos))
                {
                    return;
                }

                if (t.Kind == TokenKind.Word && !_units.IsInstructionWord(t.Text))
                {
                    _pos++;
                }
                else if (t.Kind == TokenKind.Punct && t.Text is "-" or "(" or ")" or "[" or "]" or "/" or "," or ":" or "+" or "&")
                {
                    _pos++;
                }
                else if (t.Kind == TokenKind.Number && _pos + 1 < tokens.Count && At(_pos + 1) is { Kind: TokenKind.Word, Text: "hr" or "h" })
                {
                    // RxNorm extended-release names start with "24 HR" or "12 HR".
                    _pos += 2;
                }
                else
                {
                    return;
                }
            }
        }

        /// <summary>"(0.5 mg total)", "(0.5-1 mg total)": a mass amount, the word total, in parentheses.</summary>
        private bool TryStatedTotal(int i, out Quantity quantity, out int next)
        {
            next = i;
            quantity = new Quantity(null, null, false);
            if (!IsPunct(i, "(") || !TryQuantity(i + 1, out var q, out var k) || q.Dose is not { Code: { } code } || !_units.IsMass(code)
                || !vocabulary.TryMatch(SigTermKind.TotalMarker, tokens, k, out _, out var afterMarker) || !IsPunct(afterMarker, ")"))
            {
                return false;
            }

            quantity = q;
            next = afterMarker + 1;
            return true;
        }

        private bool StartsSomething(int i) =>
            TryQuantity(i, out _, out _) || TryFrequency(i, out _, out _) || TryPrn(i, out _) || TryMaxMarker(i, out _, out _);

        private void Step()
        {
            var t = At(_pos);
            if (t.Kind == TokenKind.Number && vocabulary.Is(SigTermKind.Dispense, WordAt(_pos + 1)))
            {
                // Oracle Health: "..., Daily, 11 refills": dispensing information, not a dose.
                _pos += 2;
                return;
            }

            if (TryStatedTotal(_pos, out var total, out var afterTotal))
            {
                // Epic: "Take 1 tablet (0.5 mg total) by mouth ...": the parenthesized amount is the whole dose per
                // administration, which the EHR computed from the product; it replaces the count before it.
                _clause.Dose = total.Dose;
                _clause.RangeLow = total.Low;
                _clause.StrengthLike = false;
                _clause.StatedTotal = true;
                _clause.Touch(At(_pos), At(afterTotal - 1));
                _pos = afterTotal;
                return;
            }

            if (IsPunct(_pos, ",") && _pos > 0 && _pos + 1 < tokens.Count && At(_pos - 1) is { Kind: TokenKind.Number } before
                && At(_pos + 1) is { Kind: TokenKind.Number } after && before.End == t.Start && after.Start == t.End)
            {
                // "0,5 mg": a decimal comma or a list? Not guessed.
                Unparsed(_pos - 1, _pos + 1);
                _clause = new Clause();
                _pos += 2;
                return;
            }

            if (t.Kind == TokenKind.Punct && t.Text is "," or ";" or ":" or "." or "(" or ")")
            {
                Finish();
                _pos++;
                return;
            }

            if (IsWord(_pos, "and") || IsWord(_pos, "plus") || IsPunct(_pos, "&") || IsPunct(_pos, "+")
                || (IsPunct(_pos, "/") && StartsSomething(_pos + 1)))
            {
                Finish();
                _pos++;
                return;
            }

            if (TryFrequency(_pos, out var frequency, out var next))
            {
                if (_clause.Frequency is null)
                {
                    _clause.Frequency = frequency;
                }
                else if (!(_clause.Frequency.IsOncePerDay && frequency.IsOncePerDay))
                {
                    // "daily at bedtime" says once a day twice; "bid tid" contradicts itself and is not guessed.
                    Unparsed(_pos, next - 1);
                }

                _clause.Touch(At(_pos), At(next - 1));
                _pos = next;
                return;
            }

            if (TryQuantity(_pos, out var q, out next))
            {
                _sawStrength |= q.StrengthLike;
                var clauseHasDose = _clause.HasDose;
                if (clauseHasDose && _clause.StrengthLike && _clause.Frequency is null && !_clause.AsNeeded)
                {
                    // "lorazepam 1 mg tablet 1 tab bid": the first quantity was the product's strength.
                    _clause = new Clause();
                }
                else if (clauseHasDose && _clause.Frequency is not null)
                {
                    // "100 mg qam 200 mg qhs" without a comma: a new line starts.
                    Finish();
                }
                else if (clauseHasDose)
                {
                    Unparsed(_pos, next - 1);
                    _pos = next;
                    return;
                }

                _clause.Dose = q.Dose;
                _clause.RangeLow = q.Low;
                _clause.StrengthLike = q.StrengthLike;
                _clause.Touch(At(_pos), At(next - 1));
                _pos = next;
                return;
            }

            if (TryPrn(_pos, out next))
            {
                _clause.AsNeeded = true;
                _clause.Touch(At(_pos), At(next - 1));
                _pos = SkipIndication(next);
                return;
            }

            if (TryMaxMarker(_pos, out var markerEnd, out var impliesDaily))
            {
                ReadMaximum(markerEnd, impliesDaily);
                return;
            }

            if (TryRoute(_pos, out var route, out next))
            {
                // "Inject 2 mg into the vein": the specific route replaces the generic one.
                if (_clause.Route is null || (_clause.RouteIsGeneric && !route.IsGenericRoute))
                {
                    _clause.Route = route.Display;
                    _clause.RouteIsGeneric = route.IsGenericRoute;
                }

                // "2 sprays in each nostril" is four sprays.
                _clause.DosesPerAdministration = Math.Max(_clause.DosesPerAdministration, route.DosesPerAdministration);
                _clause.Touch(At(_pos), At(next - 1));
                _pos = next;
                return;
            }

            if (t.Kind == TokenKind.Word && (_units.IsFiller(t.Text) || (_units.IsFormWord(t.Text) && _clause.HasDose)))
            {
                _pos++;
                return;
            }

            if (IsWord(_pos, "for") && _pos + 1 < tokens.Count && At(_pos + 1).Kind == TokenKind.Word && !StartsSomething(_pos + 1)
                && _units.Period(At(_pos + 1).Text) is null && !_units.IsInstructionWord(At(_pos + 1).Text))
            {
                // "for anxiety": an indication, which does not change the arithmetic. "for 7 days" is not skipped.
                _pos = SkipIndication(_pos + 1);
                return;
            }

            Unparsed(_pos, _pos);
            _pos++;
        }

        /// <summary>Skips the words naming why a dose is taken ("prn anxiety", "as needed for panic or insomnia").</summary>
        private int SkipIndication(int i)
        {
            // Oracle Health writes "PRN: anxiety".
            if (IsPunct(i, ":"))
            {
                i++;
            }

            if (IsWord(i, "for"))
            {
                i++;
            }

            while (i < tokens.Count && !StartsSomething(i) && TryRoute(i, out _, out _) is false)
            {
                var t = At(i);
                if (t.Kind == TokenKind.Word && !_units.IsInstructionWord(t.Text) && t.Text is not "for")
                {
                    i++;
                }
                else if (t.Kind == TokenKind.Punct && t.Text is "/" or "-" && i + 1 < tokens.Count && At(i + 1).Kind == TokenKind.Word)
                {
                    i++;
                }
                else
                {
                    break;
                }
            }

            return i;
        }

        private void Unparsed(int first, int last)
        {
            var span = (At(first).Start, At(last).End);
            if (_unparsed.Count > 0 && IsOnlySpace(_unparsed[^1].End, span.Start))
            {
                _unparsed[^1] = (_unparsed[^1].Start, span.End);
            }
            else
            {
                _unparsed.Add(span);
            }
        }

        private bool IsOnlySpace(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                if (!char.IsWhiteSpace(text[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private void Finish()
        {
            if (!_clause.IsEmpty)
            {
                _clauses.Add(_clause);
            }

            _clause = new Clause();
        }

        private sealed record Quantity(QuantityFact? Dose, QuantityFact? Low, bool StrengthLike);

        private bool TryNumber(int i, out decimal value, out int next)
        {
            value = 0;
            next = i;
            if (i >= tokens.Count)
            {
                return false;
            }

            var t = At(i);
            if (t.Kind == TokenKind.Number)
            {
                value = t.Value;
                next = i + 1;
            }
            else if (t.Kind == TokenKind.Word && _units.NumberWord(t.Text) is { } word)
            {
                value = word;
                next = i + 1;

                // "one half", "one-half": a half.
                if (word == 1 && IsWord(next, "half"))
                {
                    value = 0.5m;
                    next++;
                }
                else if (word == 1 && IsPunct(next, "-") && IsWord(next + 1, "half"))
                {
                    value = 0.5m;
                    next += 2;
                }
            }
            else
            {
                return false;
            }

            // "one and a half", "1 and 1/2".
            if (decimal.IsInteger(value) && IsWord(next, "and") && (IsWord(next + 1, "a") && IsWord(next + 2, "half")))
            {
                value += 0.5m;
                next += 3;
            }
            else if (decimal.IsInteger(value) && IsWord(next, "and") && next + 1 < tokens.Count
                && At(next + 1) is { Kind: TokenKind.Number, IsFraction: true } fraction && fraction.Value < 1)
            {
                value += fraction.Value;
                next += 2;
            }

            // "half a tablet".
            if (value == 0.5m && IsWord(next, "a"))
            {
                next++;
            }

            return true;
        }

        /// <summary>A dose: a number or range with a unit ("0.5 mg", "25–50 mg", "1 to 2 tablets", "½ tab").</summary>
        private bool TryQuantity(int i, out Quantity quantity, out int next)
        {
            quantity = new Quantity(null, null, false);
            if (!TryNumber(i, out var low, out next))
            {
                return false;
            }

            decimal? high = null;
            var unit = UnitAt(next);
            if (unit is not null)
            {
                next++;
            }

            // A range: "25-50 mg", "1 to 2 tablets", "1 or 2 tabs", "25 mg - 50 mg".
            if ((IsPunct(next, "-") || IsWord(next, "to") || IsWord(next, "or")) && TryNumber(next + 1, out var upper, out var afterUpper))
            {
                var upperUnit = UnitAt(afterUpper);
                if (upperUnit is not null && (unit is null || upperUnit == unit))
                {
                    high = upper;
                    unit = upperUnit;
                    next = afterUpper + 1;
                }
                else if (upperUnit is null && unit is not null)
                {
                    high = upper;
                    next = afterUpper;
                }
                else if (upperUnit is null && unit is null && !IsTimesWord(afterUpper) && _units.Period(WordAt(afterUpper)) is null)
                {
                    high = upper;
                    next = afterUpper;
                }
            }

            if (unit is null)
            {
                // "1-2 times daily" is a frequency, not a dose.
                if (TryFrequency(i, out _, out _))
                {
                    return false;
                }

                // A bare number is a dose only where nothing else claims it: not "3 times", "3x", "6 hours".
                if (IsTimesWord(next) || _units.Period(WordAt(next)) is not null || (next < tokens.Count && At(next).Kind == TokenKind.Number))
                {
                    return false;
                }

                var bare = At(i);
                if (bare.Kind == TokenKind.Word && high is null)
                {
                    // A lone "one" or "half" with no unit is too weak to call a dose.
                    return false;
                }
            }

            var strengthLike = false;
            var unitText = unit?.Unit;
            var unitCode = unit?.Code;
            if (unit is { } u && _units.IsMass(u.Code) && IsPunct(next, "/"))
            {
                var per = WordAt(next + 1);
                if (_units.IsVolumeWord(per))
                {
                    // A concentration is a product's strength, never a dose.
                    strengthLike = true;
                    unitText = $"{u.Unit}/mL";
                    unitCode = $"{u.Code}/mL";
                    next += 2;
                }
                else if (per is "kg" or "lb" or "m2")
                {
                    // "0.5 mg/kg": a weight-based dose, kept with its unit so the calculator reports it.
                    unitText = $"{u.Unit}/{per}";
                    unitCode = unitText;
                    next += 2;
                }
            }

            // "0.5 MG Oral Tablet", "1 mg tab [Ativan]": a strength as a product name writes it.
            if (unit is { } mass && _units.IsMass(mass.Code)
                && ((WordAt(next) is { } form && _units.IsFormWord(form)) || IsPunct(next, "[")))
            {
                strengthLike = true;
            }

            var dose = new QuantityFact(high ?? low, unitText, unitCode);
            quantity = new Quantity(dose, high is null ? null : new QuantityFact(low, unitText, unitCode), strengthLike);
            return true;
        }

        private (string Unit, string Code)? UnitAt(int i) =>
            i < tokens.Count && tokens[i].Kind == TokenKind.Word ? _units.Lookup(tokens[i].Text) : null;

        private string? WordAt(int i) => i < tokens.Count && tokens[i].Kind == TokenKind.Word ? tokens[i].Text : null;

        private bool IsTimesWord(int i) => vocabulary.Is(SigTermKind.TimesMarker, WordAt(i));

        /// <summary>A count: a number, a number word, or once/twice.</summary>
        private bool TryCount(int i, out decimal count, out int next)
        {
            if (i < tokens.Count && tokens[i].Kind == TokenKind.Word && _units.TimesWord(tokens[i].Text) is { } times)
            {
                count = times;
                next = i + 1;
                return true;
            }

            if (i < tokens.Count && tokens[i].Kind == TokenKind.Number)
            {
                count = tokens[i].Value;
                next = i + 1;
                return true;
            }

            if (i < tokens.Count && tokens[i].Kind == TokenKind.Word && _units.NumberWord(tokens[i].Text) is { } word && word >= 1)
            {
                count = word;
                next = i + 1;
                return true;
            }

            count = 0;
            next = i;
            return false;
        }

        /// <summary>A frequency: GTS abbreviations, "every 4 to 6 hours", "q4-6h", "1-2 times daily", "/day", "at bedtime".</summary>
        private bool TryFrequency(int i, out Frequency frequency, out int next)
        {
            frequency = null!;
            next = i;
            if (i >= tokens.Count)
            {
                return false;
            }

            // "once daily", "twice a day", "3 times per day", "1-2 times daily", "3x/day", "up to 3 times a day".
            var j = i;
            var upTo = false;
            if (IsWord(j, "up") && IsWord(j + 1, "to"))
            {
                upTo = true;
                j += 2;
            }

            if (TryCount(j, out var count, out var afterCount))
            {
                decimal? countMax = null;
                if ((IsPunct(afterCount, "-") || IsWord(afterCount, "to") || IsWord(afterCount, "or")) && TryCount(afterCount + 1, out var upper, out var afterUpper))
                {
                    countMax = upper;
                    afterCount = afterUpper;
                }

                var isOnceTwice = At(j).Kind == TokenKind.Word && _units.TimesWord(At(j).Text) is not null;
                var k = afterCount;
                if (IsTimesWord(k))
                {
                    k++;
                }
                else if (!isOnceTwice)
                {
                    k = -1;
                }

                if (k >= 0 && TryPerPeriod(k, out var period, out var unit, out var afterPeriod))
                {
                    if (upTo)
                    {
                        (count, countMax) = (1, countMax ?? count);
                    }

                    frequency = new Frequency(count, countMax, period, null, unit, Label(i, afterPeriod - 1));
                    next = afterPeriod;
                    return true;
                }
            }

            // "every 6 hours", "every 4 to 6 hours", "every 4-6 hrs", "every hour", "q 6 h".
            if (IsWord(i, "every") || IsWord(i, "q") || IsWord(i, "each"))
            {
                var k = i + 1;
                decimal every = 1;
                decimal? everyMax = null;
                if (TryCount(k, out var n, out var afterN))
                {
                    every = n;
                    k = afterN;
                    if ((IsPunct(k, "-") || IsWord(k, "to")) && TryCount(k + 1, out var m, out var afterM))
                    {
                        everyMax = m;
                        k = afterM;
                    }
                }

                if (_units.Period(WordAt(k)) is { } unit && (k > i + 1 || unit is "h"))
                {
                    frequency = new Frequency(1, null, every, everyMax, unit, Label(i, k));
                    next = k + 1;
                    return true;
                }
            }

            // "q6h", "q12h", "q4-6h", "q 4-6 hours".
            if (At(i).Kind == TokenKind.Every)
            {
                var every = At(i).Value;
                var unit = _units.Period(At(i).Text);
                var k = i + 1;
                decimal? everyMax = null;
                if (IsPunct(k, "-") && k + 1 < tokens.Count && At(k + 1).Kind == TokenKind.Number)
                {
                    everyMax = At(k + 1).Value;
                    k += 2;
                }

                if (_units.Period(WordAt(k)) is { } after && (unit is null || everyMax is not null))
                {
                    unit = after;
                    k++;
                }

                if (unit is not null && every > 0)
                {
                    frequency = new Frequency(1, null, every, everyMax, unit, Label(i, k - 1));
                    next = k;
                    return true;
                }
            }

            // GTS abbreviations and their spellings ("bid", "nightly", "every other day"), from the vocabulary.
            if (vocabulary.TryMatch(SigTermKind.Frequency, tokens, i, out var fixedTerm, out var afterFixed)
                && fixedTerm is { Frequency: { } fixedCount, Period: { } fixedPeriod, PeriodUnit: { } fixedUnit })
            {
                frequency = new Frequency(fixedCount, null, fixedPeriod, null, fixedUnit, Label(i, afterFixed - 1));
                next = afterFixed;
                return true;
            }

            return false;
        }

        /// <summary>The period after a count: "daily", "a day", "per day", "/day", "each day", "a week", "weekly", "in 24 hours".</summary>
        private bool TryPerPeriod(int i, out decimal period, out string unit, out int next)
        {
            period = 1;
            unit = "d";
            next = i;
            // "3 times daily", "twice weekly": a once-per-period word (GTS QD, WK, MO and their one-word spellings).
            if (vocabulary.Word(SigTermKind.Frequency, WordAt(i)) is { GtsCode: "QD" or "WK" or "MO", Period: { } onePeriod, PeriodUnit: { } oneUnit })
            {
                period = onePeriod;
                unit = oneUnit;
                next = i + 1;
                return true;
            }

            if (IsWord(i, "a") || IsWord(i, "per") || IsPunct(i, "/") || IsWord(i, "each") || IsWord(i, "every") || IsWord(i, "in")
                || IsWord(i, "q"))
            {
                var k = i + 1;
                if (IsWord(k, "a") || IsWord(k, "one"))
                {
                    k++;
                }

                if (k < tokens.Count && At(k).Kind == TokenKind.Number)
                {
                    period = At(k).Value;
                    k++;
                }

                if (_units.Period(WordAt(k)) is { } u && period > 0)
                {
                    unit = u;
                    next = k + 1;
                    return true;
                }
            }

            // "/24h" written together reads as a number then "h".
            return false;
        }

        private string Label(int first, int last) => text[At(first).Start..At(last).End];

        private bool TryPrn(int i, out int next) => vocabulary.TryMatch(SigTermKind.Prn, tokens, i, out _, out next);

        private bool TryMaxMarker(int i, out int next, out bool impliesDaily)
        {
            impliesDaily = false;
            if (vocabulary.TryMatch(SigTermKind.Maximum, tokens, i, out var marker, out var k))
            {
                if (marker.RequiresUnit && (!TryQuantity(k, out var q, out _) || q.Dose?.Unit is null))
                {
                    // "up to 3 times a day" is a frequency, read elsewhere.
                    next = i;
                    return false;
                }

                if (IsWord(k, "daily") || IsWord(k, "day") || IsWord(k, "day's"))
                {
                    impliesDaily = true;
                    k++;
                }

                if (IsWord(k, "dose") || IsWord(k, "total") || IsWord(k, "amount"))
                {
                    k++;
                }

                if (IsWord(k, "is"))
                {
                    k++;
                }

                if (IsWord(k, "of") || IsPunct(k, ":") || IsPunct(k, "="))
                {
                    k++;
                }

                next = k;
                return true;
            }

            next = i;
            return false;
        }

        /// <summary>"do not exceed 4 mg/day", "max 3 tablets per day", "maximum 2 mg per dose", "max daily dose 4 mg".</summary>
        private void ReadMaximum(int afterMarker, bool impliesDaily)
        {
            var markerStart = _pos;
            if (!TryQuantity(afterMarker, out var q, out var k) || q.Dose is not { Unit: not null } quantity || q.Low is not null)
            {
                Unparsed(markerStart, Math.Min(afterMarker, tokens.Count - 1));
                _pos = afterMarker + 1;
                return;
            }

            if (TryPerPeriod(k, out var period, out var unit, out var afterPeriod))
            {
                _clause.MaxPerPeriod = new RatioFact(quantity, new QuantityFact(period, unit, unit));
                _clause.Touch(At(markerStart), At(afterPeriod - 1));
                _pos = afterPeriod;
                return;
            }

            if (Matches(k, "per", "dose") || Matches(k, "/", "dose") || Matches(k, "at", "a", "time") || Matches(k, "per", "administration"))
            {
                var end = IsWord(k, "at") ? k + 3 : k + 2;
                _clause.MaxPerAdministration = quantity;
                _clause.Touch(At(markerStart), At(end - 1));
                _pos = end;
                return;
            }

            if (impliesDaily)
            {
                _clause.MaxPerPeriod = new RatioFact(quantity, new QuantityFact(1, "d", "d"));
                _clause.Touch(At(markerStart), At(k - 1));
                _pos = k;
                return;
            }

            // A maximum with no period is not guessed to be per day.
            Unparsed(markerStart, k - 1);
            _pos = k;
        }

        private bool TryRoute(int i, out SigTerm route, out int next) => vocabulary.TryMatch(SigTermKind.Route, tokens, i, out route, out next);

        private SigParseResult Assemble()
        {
            // Quoted as the record wrote it: each part verbatim, and the summary from the first part to the last.
            var parts = _unparsed.Select(s => text[s.Start..s.End].Trim()).ToList();
            var unparsed = _unparsed.Count == 0 ? null : text[_unparsed[0].Start.._unparsed[^1].End].Trim();

            // A product name and strength with no instruction anywhere is not a sig ("lorazepam 2 MG/ML Oral Solution").
            if (!_clauses.Any(c => c.HasInstruction) && _sawStrength)
            {
                return new SigParseResult([], null);
            }

            // A strength ahead of the sig ("lorazepam 1 mg tablet, 1 tab bid") is the product's, not a dose.
            var clauses = _clauses
                .Where(c => !(c.StrengthLike && !c.HasInstruction && _clauses.Any(o => o != c && o.HasDose)))
                .ToList();
            clauses = OracleHealthFields(clauses);

            var lines = new List<Clause>();
            Clause? pending = null;
            foreach (var clause in clauses)
            {
                var previous = lines.Count > 0 ? lines[^1] : null;
                if (!clause.HasDose && clause.Frequency is null)
                {
                    // "…, prn anxiety", "…, do not exceed 3 tabs/day", "…, by mouth": modifiers of the line before.
                    var target = previous ?? (pending ??= new Clause());
                    Merge(target, clause);
                    continue;
                }

                if (!clause.HasDose && previous is { HasDose: true })
                {
                    if (previous.Frequency is null)
                    {
                        // "0.5 mg, three times daily".
                        Merge(previous, clause);
                        continue;
                    }

                    // "1 tab in the morning and at bedtime": the same dose again.
                    clause.Dose = previous.Dose;
                    clause.RangeLow = previous.RangeLow;
                    clause.AsNeeded |= previous.AsNeeded;
                }

                if (clause.Dose is { Unit: null } bare && lines.LastOrDefault(l => l.Dose?.Unit is not null)?.Dose is { } withUnit)
                {
                    // "100 mg QAM, 200 QHS": the unit carries over.
                    clause.Dose = bare with { Unit = withUnit.Unit, Code = withUnit.Code };
                    clause.RangeLow = clause.RangeLow is { } low ? low with { Unit = withUnit.Unit, Code = withUnit.Code } : null;
                    clause.UnitInherited = true;
                }

                if (pending is not null)
                {
                    Merge(clause, pending);
                    pending = null;
                }

                lines.Add(clause);
            }

            if (lines.Count == 0)
            {
                if (pending is not null)
                {
                    lines.Add(pending);
                }
                else
                {
                    // No dose, frequency or instruction anywhere: nothing was read.
                    return new SigParseResult([], unparsed ?? text.Trim()) { UnparsedParts = parts.Count > 0 ? parts : [text.Trim()] };
                }
            }

            var dosages = lines.Select(ToDosage).ToList();
            return new SigParseResult(dosages, unparsed) { UnparsedParts = parts };
        }

        /// <summary>
        /// Oracle Health (Cerner) writes a dose as comma-separated fields: "2 mg, 1 tab(s), Oral, QID, 120 tab(s)".
        /// A mass field followed by a count field is one dose given twice (the mass is kept, as with Epic's
        /// parenthesized total), and a count field after a complete line, at the end, is the quantity dispensed.
        /// </summary>
        private List<Clause> OracleHealthFields(List<Clause> clauses)
        {
            var result = new List<Clause>(clauses.Count);
            var doses = 0;
            var anySchedule = false;
            for (var i = 0; i < clauses.Count; i++)
            {
                var clause = clauses[i];
                var previous = result.Count > 0 ? result[^1] : null;
                var countOnly = clause is { HasDose: true, Frequency: null, AsNeeded: false, MaxPerPeriod: null, MaxPerAdministration: null, Route: null }
                    && clause.Dose!.Code is { } code && !_units.IsMass(code) && AfterComma(clause);
                if (countOnly && previous is { Frequency: null, AsNeeded: false, Dose.Code: { } previousCode } && _units.IsMass(previousCode)
                    && previous.RangeLow is null && clause.RangeLow is null)
                {
                    // "2 mg, 1 tab(s)": the same dose in two units.
                    previous.End = Math.Max(previous.End, clause.End);
                    continue;
                }

                if (countOnly && i == clauses.Count - 1 && doses == 1 && anySchedule)
                {
                    // "…, QID, 120 tab(s)": the quantity dispensed, not a dose.
                    continue;
                }

                result.Add(clause);
                doses += clause.HasDose ? 1 : 0;
                anySchedule |= clause.Frequency is not null || clause.AsNeeded;
            }

            return result;
        }

        /// <summary>True when the clause starts right after a comma (a field of an Oracle Health display line).</summary>
        private bool AfterComma(Clause clause)
        {
            var k = clause.Start - 1;
            while (k >= 0 && char.IsWhiteSpace(text[k]))
            {
                k--;
            }

            return k >= 0 && text[k] == ',';
        }

        private static void Merge(Clause target, Clause modifier)
        {
            target.Frequency ??= modifier.Frequency;
            target.AsNeeded |= modifier.AsNeeded;
            target.MaxPerPeriod ??= modifier.MaxPerPeriod;
            target.MaxPerAdministration ??= modifier.MaxPerAdministration;
            if (target.Route is null || (target.RouteIsGeneric && modifier.Route is not null && !modifier.RouteIsGeneric))
            {
                target.Route = modifier.Route ?? target.Route;
                target.RouteIsGeneric = modifier.Route is null ? target.RouteIsGeneric : modifier.RouteIsGeneric;
            }

            target.DosesPerAdministration = Math.Max(target.DosesPerAdministration, modifier.DosesPerAdministration);
            if (modifier.Start >= 0)
            {
                target.Start = target.Start < 0 ? modifier.Start : Math.Min(target.Start, modifier.Start);
                target.End = Math.Max(target.End, modifier.End);
            }
        }

        private DosageFact ToDosage(Clause clause)
        {
            var f = clause.Frequency;
            var timing = f is null
                ? null
                : new TimingFact
                {
                    Frequency = (int)Math.Ceiling(f.Count),
                    FrequencyMax = f.CountMax is { } max ? (int)Math.Ceiling(max) : null,
                    Period = f.Period,
                    PeriodMax = f.PeriodMax,
                    PeriodUnit = f.Unit,
                    CodeText = f.Label,
                };

            if (clause.DosesPerAdministration > 1)
            {
                var times = clause.DosesPerAdministration;
                clause.Dose = clause.Dose is { } perSite ? perSite with { Value = perSite.Value * times } : null;
                clause.RangeLow = clause.RangeLow is { } lowPerSite ? lowPerSite with { Value = lowPerSite.Value * times } : null;
            }

            return new DosageFact
            {
                Text = clause.Start >= 0 ? text[clause.Start..clause.End] : text.Trim(),
                Dose = clause.RangeLow is null ? clause.Dose : null,
                DoseRangeLow = clause.RangeLow,
                DoseRangeHigh = clause.RangeLow is null ? null : clause.Dose,
                Timing = timing,
                AsNeeded = clause.AsNeeded,
                MaxDosePerPeriod = clause.MaxPerPeriod,
                MaxDosePerAdministration = clause.MaxPerAdministration,
                Route = clause.Route,
                ParsedFromText = true,
            };
        }

        public override string ToString() => string.Join(" ", tokens.Select(t => t.Kind == TokenKind.Number ? t.Value.ToString(Inv) : t.Text));
    }
}
