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
}

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
}

public sealed record QidsSrSummary
{
    public decimal? Baseline { get; init; }
    public decimal? Latest { get; init; }
    public decimal? PercentChange { get; init; }
    public bool? Response { get; init; }
    public bool? Remission { get; init; }
}

public sealed record CadssSummary
{
    public decimal? Mean { get; init; }
    public decimal? Latest { get; init; }
}
