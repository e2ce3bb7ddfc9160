using System.Text.Json.Serialization;

namespace KetamineCds.Api.CdsHooks;

// CDS Hooks 2.0 wire types (https://cds-hooks.hl7.org/2.0/). Our own sealed records: null and empty members are
// omitted on the wire by CdsJson.Options.

public sealed record CdsDiscoveryResponse(IReadOnlyList<CdsServiceDescriptor> Services);

public sealed record CdsServiceDescriptor
{
    public required string Hook { get; init; }
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string Description { get; init; }
    public required IReadOnlyDictionary<string, string> Prefetch { get; init; }
    public string? UsageRequirements { get; init; }
}

public sealed record CdsServiceResponse(IReadOnlyList<Card> Cards);

public sealed record Card
{
    public required string Uuid { get; init; }
    public required string Summary { get; init; }
    public required string Indicator { get; init; }
    public required CardSource Source { get; init; }
    public string? Detail { get; init; }
    public IReadOnlyList<CardLink>? Links { get; init; }

    /// <summary>CDS Hooks 2.0 overrideReasons: codes of CodeSystem ketamine-cds-override-reason offered on this card.</summary>
    public IReadOnlyList<CdsCoding>? OverrideReasons { get; init; }
    public CardExtension? Extension { get; init; }
}

public sealed record CardSource
{
    public required string Label { get; init; }
    public string? Url { get; init; }
    public CdsCoding? Topic { get; init; }
}

public sealed record CdsCoding(string System, string Code, string? Display);

public sealed record CardLink
{
    public required string Label { get; init; }
    public required string Url { get; init; }
    public required string Type { get; init; }
    public string? AppContext { get; init; }
}

/// <summary>The card's machine-readable extension: {"ketaminecds": {...}}.</summary>
public sealed record CardExtension([property: JsonPropertyName("ketaminecds")] KetamineCdsExtension KetamineCds);

/// <summary>What the SMART app and pharmacist review read back from a card.</summary>
public sealed record KetamineCdsExtension
{
    public required string Finding { get; init; }
    public decimal? LamotrigineMgPerDay { get; init; }
    public string? LamotrigineDoseCategory { get; init; }
    public decimal? LorazepamEquivalentMgPerDay { get; init; }
    public decimal? LorazepamEquivalentMgPerDayAlternate { get; init; }
    public decimal? ThresholdLorazepamMgPerDay { get; init; }

    /// <summary>True when a recognized benzodiazepine could not be counted: the totals are of the counted ones only.</summary>
    public bool? TotalExcludesUncountedMedications { get; init; }
    public IReadOnlyList<MedicationLine>? Medications { get; init; }
    public QidsSrSummary? QidsSr { get; init; }
    public CadssSummary? Cadss { get; init; }
    public int? UnreadableResources { get; init; }

    /// <summary>True when a counted dose is a maximum (PRN maximum, range high end): the totals are "up to".</summary>
    public bool? LorazepamEquivalentIsUpTo { get; init; }

    /// <summary>The ketamine the call concerns (draft order at order hooks; current at patient-view):
    /// "racemic-ketamine", "esketamine", "both" or "unknown". On the lamotrigine card.</summary>
    public string? KetamineForm { get; init; }

    /// <summary>The benzodiazepines counted, on cards other than the benzodiazepine ones (every card lists them).</summary>
    public BenzodiazepineSummary? Benzodiazepines { get; init; }

    /// <summary>Assessment Observations left out of the course, with their references (kept out of the clinician text).</summary>
    public IReadOnlyList<ExcludedObservation>? ExcludedObservations { get; init; }
}

/// <summary>The benzodiazepine totals as listed on the lamotrigine and course cards.</summary>
public sealed record BenzodiazepineSummary
{
    public decimal? LorazepamEquivalentMgPerDay { get; init; }
    public decimal? LorazepamEquivalentMgPerDayAlternate { get; init; }
    public bool? LorazepamEquivalentIsUpTo { get; init; }
    public required decimal ThresholdLorazepamMgPerDay { get; init; }
    public bool? TotalExcludesUncountedMedications { get; init; }
    public required IReadOnlyList<MedicationLine> Medications { get; init; }
}

public sealed record ExcludedObservation(string Reference, string Reason, string Detail);

public sealed record MedicationLine
{
    public required string Reference { get; init; }
    public required string Ingredient { get; init; }
    public decimal? MgPerDay { get; init; }
    public decimal? ScheduledMgPerDay { get; init; }
    public decimal? LorazepamEquivalentMgPerDay { get; init; }
    public decimal? LorazepamEquivalentMgPerDayAlternate { get; init; }
    public IReadOnlyList<string>? Derivation { get; init; }
    public bool? Counted { get; init; }
    public string? NotCountedReason { get; init; }
    public IReadOnlyList<string>? AlsoRecordedAs { get; init; }

    /// <summary>Why the line is not counted: "not-oral", "no-equivalence", "dose-unknown" or "not-a-benzodiazepine".</summary>
    public string? NotCountedKind { get; init; }

    /// <summary>The name shown on the card (no FHIR id).</summary>
    public string? Display { get; init; }

    /// <summary>True when mgPerDay is a maximum (PRN maximum, range high end).</summary>
    public bool? IsUpTo { get; init; }

    /// <summary>How the entries of one therapy were reconciled, with their references (kept out of the clinician text).</summary>
    public string? ReconciliationNote { get; init; }
}

public sealed record QidsSrSummary
{
    public decimal? Baseline { get; init; }
    public decimal? Latest { get; init; }
    public decimal? PercentChange { get; init; }
    /// <summary>On the latest score.</summary>
    public bool? Response { get; init; }

    /// <summary>On the latest score.</summary>
    public bool? Remission { get; init; }

    /// <summary>Some score after the baseline met the response definition.</summary>
    public bool? ResponseAtAnyPoint { get; init; }

    /// <summary>Some score after the baseline met the remission definition (the article: "at some point during the induction phase").</summary>
    public bool? RemissionAtAnyPoint { get; init; }
    public DateTimeOffset? FirstResponseDate { get; init; }
    public DateTimeOffset? FirstRemissionDate { get; init; }
}

public sealed record CadssSummary
{
    public decimal? Mean { get; init; }
    public decimal? Latest { get; init; }
}
