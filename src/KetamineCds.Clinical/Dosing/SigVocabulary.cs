namespace KetamineCds.Clinical.Dosing;

/// <summary>What a group of sig words is (the <c>kind</c> property of the sig vocabulary CodeSystem).</summary>
public enum SigTermKind
{
    /// <summary>A fixed schedule: GTS abbreviations and their spellings ("bid", "at bedtime", "every other day").</summary>
    Frequency,

    /// <summary>A counted repetition: "once", "twice", "thrice".</summary>
    Times,

    /// <summary>The word after a count that makes it a frequency: "times", "x".</summary>
    TimesMarker,

    /// <summary>A number written as a word: "one", "three", "half".</summary>
    Number,

    /// <summary>A dose unit: "mg", "tablet", "mL".</summary>
    DoseUnit,

    /// <summary>A period unit: "hours", "day", "week".</summary>
    PeriodUnit,

    /// <summary>A route: "by mouth", "IV", "under the tongue".</summary>
    Route,

    /// <summary>As needed: "prn", "as needed".</summary>
    Prn,

    /// <summary>A maximum: "do not exceed", "max".</summary>
    Maximum,

    /// <summary>A dose-form, salt or release word after a strength: "tablet", "ER", "hydrochloride".</summary>
    Form,

    /// <summary>A word that changes what the sig means and is never skipped: "stop", "then", "taper".</summary>
    Instruction,

    /// <summary>A word that carries nothing for the arithmetic: "take", "with", "dinner".</summary>
    Filler,

    /// <summary>"total" in Epic's parenthesized total: "1 tablet (0.5 mg total)".</summary>
    TotalMarker,

    /// <summary>Dispensing information after a number: "11 refills".</summary>
    Dispense,
}

/// <summary>Whether a route is counted against the oral equivalence tables.</summary>
public enum RouteClass
{
    /// <summary>No route word or code was recognized.</summary>
    Unrecognized,

    /// <summary>Oral (or an enteral tube): counted.</summary>
    Oral,

    /// <summary>Any other route: named on the card, not counted.</summary>
    NonOral,
}

/// <summary>
/// One concept of the sig vocabulary CodeSystem (fhir-profiles/terminology/CodeSystem-ketamine-cds-sig-vocabulary.json):
/// its phrases as written in sigs and the properties the reader uses.
/// </summary>
public sealed record SigTerm(string Code, SigTermKind Kind, string Display, IReadOnlyList<string> Phrases)
{
    /// <summary>Timing.repeat.frequency of a <see cref="SigTermKind.Frequency"/>.</summary>
    public int? Frequency { get; init; }

    /// <summary>Timing.repeat.period of a <see cref="SigTermKind.Frequency"/>.</summary>
    public decimal? Period { get; init; }

    /// <summary>Timing.repeat.periodUnit (UCUM) of a <see cref="SigTermKind.Frequency"/>.</summary>
    public string? PeriodUnit { get; init; }

    /// <summary>The HL7 v3 GTSAbbreviation code, when the frequency is one.</summary>
    public string? GtsCode { get; init; }

    /// <summary>The number a number word or times word stands for.</summary>
    public decimal? Value { get; init; }

    /// <summary>The UCUM code of a dose unit or period unit.</summary>
    public string? Ucum { get; init; }

    /// <summary>The unit as printed (dose units).</summary>
    public string? UnitText { get; init; }

    public bool IsMass { get; init; }

    public bool IsVolume { get; init; }

    /// <summary>Oral or not, for a route.</summary>
    public RouteClass RouteClass { get; init; }

    /// <summary>The SNOMED CT route concept of a route, when one was verified.</summary>
    public string? SnomedRoute { get; init; }

    /// <summary>The HL7 v3 RouteOfAdministration code of a route without a verified SNOMED CT concept.</summary>
    public string? V3Route { get; init; }

    /// <summary>A route a more specific one later in the sig replaces ("inject ... into the vein").</summary>
    public bool IsGenericRoute { get; init; }

    /// <summary>How many times the written amount is given per administration ("in each nostril": 2).</summary>
    public int DosesPerAdministration { get; init; } = 1;

    /// <summary>A maximum marker that counts only before a quantity with a unit ("up to").</summary>
    public bool RequiresUnit { get; init; }
}

/// <summary>
/// The words the sig reader knows, loaded at start-up from the sig vocabulary CodeSystem. Phrases are split into the
/// reader's tokens once, here, and indexed by their first token, so matching at a position costs a dictionary look-up
/// and a comparison of the (few) phrases starting with that word, longest first: linear in the sig's length.
/// </summary>
public sealed class SigVocabulary
{
    private readonly Dictionary<SigTermKind, Dictionary<string, List<Phrase>>> _byFirstToken = [];
    private readonly Dictionary<string, SigTerm> _routesBySnomed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SigTerm> _frequenciesByCode = new(StringComparer.Ordinal);
    private readonly HashSet<string> _massUnits = new(StringComparer.Ordinal);

    public SigVocabulary(IEnumerable<SigTerm> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Terms = terms.ToList();
        foreach (var term in Terms)
        {
            if (!_byFirstToken.TryGetValue(term.Kind, out var index))
            {
                index = new Dictionary<string, List<Phrase>>(StringComparer.Ordinal);
                _byFirstToken[term.Kind] = index;
            }

            foreach (var written in term.Phrases)
            {
                var tokens = SigTextParser.Tokenizer.Tokenize(written);
                if (tokens.Count == 0)
                {
                    continue;
                }

                // timing.code as EHRs send it ("BID", "QHS", "Q12H"): one word, matched whatever the token kind.
                if (term.Kind == SigTermKind.Frequency && tokens.Count == 1)
                {
                    _frequenciesByCode.TryAdd(written.Replace(".", "", StringComparison.Ordinal).ToUpperInvariant(), term);
                }

                // "q12h" reads as a number-carrying token, which the reader's own grammar handles; only words and
                // punctuation are matched as phrases.
                if (tokens.Any(t => t.Kind is not (SigTextParser.TokenKind.Word or SigTextParser.TokenKind.Punct)))
                {
                    continue;
                }

                var phrase = new Phrase(tokens.Select(t => (t.Kind, t.Text)).ToArray(), term);
                if (!index.TryGetValue(tokens[0].Text, out var list))
                {
                    list = [];
                    index[tokens[0].Text] = list;
                }

                list.Add(phrase);
                list.Sort((a, b) => b.Tokens.Length.CompareTo(a.Tokens.Length));
            }

            if (term is { Kind: SigTermKind.DoseUnit, IsMass: true, Ucum: { } massCode })
            {
                _massUnits.Add(massCode);
            }

            if (term.Kind == SigTermKind.Route && term.SnomedRoute is { } snomed)
            {
                _routesBySnomed.TryAdd(snomed, term);
            }

            if (term.Kind == SigTermKind.Frequency && term.GtsCode is { } gts)
            {
                _frequenciesByCode[gts.ToUpperInvariant()] = term;
            }
        }
    }

    /// <summary>No words at all: every sig is unreadable. The default before the knowledge is loaded.</summary>
    public static SigVocabulary Empty { get; } = new([]);

    public IReadOnlyList<SigTerm> Terms { get; }

    private sealed record Phrase((SigTextParser.TokenKind Kind, string Text)[] Tokens, SigTerm Term);

    /// <summary>The longest phrase of <paramref name="kind"/> spelled by the tokens at <paramref name="i"/>.</summary>
    internal bool TryMatch(SigTermKind kind, IReadOnlyList<SigTextParser.Token> tokens, int i, out SigTerm term, out int next)
    {
        term = null!;
        next = i;
        if (i >= tokens.Count || !_byFirstToken.TryGetValue(kind, out var index) || !index.TryGetValue(tokens[i].Text, out var phrases))
        {
            return false;
        }

        foreach (var phrase in phrases)
        {
            if (i + phrase.Tokens.Length > tokens.Count)
            {
                continue;
            }

            var matches = true;
            for (var k = 0; k < phrase.Tokens.Length && matches; k++)
            {
                var t = tokens[i + k];
                matches = t.Kind == phrase.Tokens[k].Kind && t.Text == phrase.Tokens[k].Text;
            }

            if (matches)
            {
                term = phrase.Term;
                next = i + phrase.Tokens.Length;
                return true;
            }
        }

        return false;
    }

    /// <summary>The term of <paramref name="kind"/> that the single word is, or null.</summary>
    internal SigTerm? Word(SigTermKind kind, string? word)
    {
        if (word is null || !_byFirstToken.TryGetValue(kind, out var index) || !index.TryGetValue(word, out var phrases))
        {
            return null;
        }

        return phrases.FirstOrDefault(p => p.Tokens.Length == 1 && p.Tokens[0].Kind == SigTextParser.TokenKind.Word)?.Term;
    }

    /// <summary>True for the UCUM code of a mass dose unit (mg, ug, g).</summary>
    internal bool IsMassUnit(string ucum) => _massUnits.Contains(ucum);

    /// <summary>True when the single word is of <paramref name="kind"/>.</summary>
    internal bool Is(SigTermKind kind, string? word) => Word(kind, word) is not null;

    /// <summary>A frequency by its timing.code (GTS code such as "BID", or a one-word spelling such as "QHS").</summary>
    public SigTerm? FrequencyByCode(string? code) =>
        code is null ? null : _frequenciesByCode.GetValueOrDefault(code.Trim().Replace(".", "", StringComparison.Ordinal).ToUpperInvariant());

    /// <summary>
    /// Classifies a route as an EHR wrote it (a sig phrase, a Dosage.route text or display, a SNOMED CT route code, a
    /// product's route): oral when every route recognized in it is oral-class, non-oral when any is not, unrecognized
    /// when none is (the caller decides what an unrecognized route means). Returns the first route recognized.
    /// </summary>
    public (RouteClass Class, SigTerm? Term) ClassifyRoute(string? route)
    {
        if (string.IsNullOrWhiteSpace(route))
        {
            return (RouteClass.Unrecognized, null);
        }

        if (_routesBySnomed.TryGetValue(route.Trim(), out var coded))
        {
            return (coded.RouteClass, coded);
        }

        var tokens = SigTextParser.Tokenizer.Tokenize(route);
        SigTerm? first = null;
        var anyNonOral = false;
        var i = 0;
        while (i < tokens.Count)
        {
            if (TryMatch(SigTermKind.Route, tokens, i, out var term, out var next))
            {
                first ??= term;
                anyNonOral |= term.RouteClass != RouteClass.Oral;
                i = next;
            }
            else
            {
                i++;
            }
        }

        return first is null ? (RouteClass.Unrecognized, null) : (anyNonOral ? RouteClass.NonOral : RouteClass.Oral, first);
    }
}
