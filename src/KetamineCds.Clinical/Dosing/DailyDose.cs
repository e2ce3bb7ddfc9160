using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Dosing;

/// <summary>How a daily dose was derived; shown in the card's table so a pharmacist can check it.</summary>
public enum DoseDerivation
{
    /// <summary>A structured dose in mass units with a structured frequency.</summary>
    Structured,

    /// <summary>A count (tablets, mL, sprays) times the product's strength.</summary>
    ProductStrength,

    /// <summary>Read from free-text sig.</summary>
    ParsedText,

    /// <summary>As needed: counted at the most the sig allows.</summary>
    PrnMaximum,

    /// <summary>A dose range: counted at its high end.</summary>
    RangeHighEnd,

    /// <summary>A frequency or period range (frequencyMax, periodMax, "every 4 to 6 hours"): counted at the most doses.</summary>
    FrequencyMaximum,
}

/// <summary>
/// A daily dose in mg/day, or an explicit unknown with the reason. Never zero for "could not compute".
/// </summary>
public sealed record DailyDose
{
    /// <summary>The mg/day counted against thresholds: the most the sig allows (PRN maximum, range high end).</summary>
    public decimal? MgPerDay { get; init; }

    /// <summary>The scheduled (non-PRN) part, when a PRN part exists.</summary>
    public decimal? ScheduledMgPerDay { get; init; }

    /// <summary>True when MgPerDay is a maximum ("up to") rather than a fixed schedule.</summary>
    public bool IsUpTo { get; init; }

    public IReadOnlyList<DoseDerivation> Derivations { get; init; } = [];

    /// <summary>The arithmetic, human-readable ("0.5 mg x 3/day").</summary>
    public string Calculation { get; init; } = "";

    /// <summary>Why the dose could not be computed; null when it could.</summary>
    public string? UnknownReason { get; init; }

    public bool IsKnown => MgPerDay is not null;

    /// <summary>
    /// The route the dosage lines name, structured (Dosage.route) or read from the sig text ("IV", "under the
    /// tongue"); null when none does. Known even when the dose is not, so a non-oral entry is named as such.
    /// </summary>
    public string? Route { get; init; }

    public static DailyDose Unknown(string reason, string? route = null) => new() { UnknownReason = reason, Route = route };
}

/// <summary>Reads free-text sigs into structured dosage lines.</summary>
public interface ISigTextParser
{
    /// <summary>The words the parser knows; the calculator reads timing.code with the same vocabulary.</summary>
    SigVocabulary Vocabulary { get; }

    SigParseResult Parse(string text);
}

/// <summary>What a sig parser understood; <see cref="Unparsed"/> names what it could not read.</summary>
/// <param name="Dosages">The dosage lines read.</param>
/// <param name="Unparsed">The record's words from the first to the last part not understood, verbatim; null when all was read.</param>
public sealed record SigParseResult(IReadOnlyList<DosageFact> Dosages, string? Unparsed)
{
    /// <summary>Each stretch of the sig not understood, verbatim (the record's exact words, never rejoined).</summary>
    public IReadOnlyList<string> UnparsedParts { get; init; } = Unparsed is null ? [] : [Unparsed];
}
