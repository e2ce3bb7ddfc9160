namespace KetamineCds.Storage;

/// <summary>
/// The numbers a card showed, copied from its <c>extension.ketaminecds</c> (INTERFACES.md seam 4): what the snooze rule
/// compares and what the review shows. Only these are kept: no resource references, dose derivations, sig text or
/// assessment scores (minimum necessary; docs/feedback-store.md).
/// </summary>
public sealed record CardNumbers
{
    public required string Finding { get; init; }

    /// <summary>Benzodiazepine total, oral lorazepam-equivalent mg/day by the primary table (null: not computed).</summary>
    public decimal? LorazepamEquivalentMgPerDay { get; init; }

    public decimal? LorazepamEquivalentMgPerDayAlternate { get; init; }

    /// <summary>A recognized benzodiazepine was not counted in the total.</summary>
    public bool TotalExcludesUncounted { get; init; }

    public decimal? LamotrigineMgPerDay { get; init; }

    public string? LamotrigineDoseCategory { get; init; }

    /// <summary>Ingredient codes of the medication lines on the card (sorted, distinct).</summary>
    public IReadOnlyList<string> Ingredients { get; init; } = [];

    /// <summary>Ingredient codes of the lines that were recognized but not counted (sorted, distinct).</summary>
    public IReadOnlyList<string> UncountedIngredients { get; init; } = [];

    public int UnreadableResources { get; init; }
}

/// <summary>One card the service issued, as the ledger keeps it.</summary>
public sealed record IssuedCard(
    Guid CardUuid,
    string ServiceId,
    string HookInstance,
    string PatientHash,
    string? UserId,
    CardNumbers Numbers,
    DateTimeOffset IssuedAt);

public enum FeedbackOutcome
{
    Accepted,
    Overridden,
}

/// <summary>A CDS Hooks Coding (code, system, display).</summary>
public sealed record ReasonCoding(string System, string Code, string? Display);

/// <summary>
/// One CDS Hooks feedback item as stored. <see cref="UserComment"/> is null unless the site enabled keeping comments.
/// <see cref="ClientIssuer"/>/<see cref="ClientSubject"/> are the verified JWT's <c>iss</c>/<c>sub</c> (the CDS client).
/// </summary>
public sealed record FeedbackItem(
    Guid CardUuid,
    string ServiceId,
    FeedbackOutcome Outcome,
    DateTimeOffset OutcomeTimestamp,
    ReasonCoding? Reason,
    string? UserComment,
    IReadOnlyList<string> AcceptedSuggestions,
    string? ClientIssuer,
    string? ClientSubject,
    DateTimeOffset ReceivedAt);

/// <summary>What a feedback write did: items new to the store, replays of stored items, items about cards not in the ledger.</summary>
public sealed record FeedbackWriteResult(int Stored, int Duplicates, int UnknownCards);

/// <summary>A stored feedback item joined to its card (null when the card is not in the ledger).</summary>
public sealed record StoredFeedback(FeedbackItem Item, IssuedCard? Card);

/// <summary>
/// The latest review of a finding for a patient (INTERFACES.md seam 7): what the pharmacist review shows.
/// <see cref="User"/> is the clinician the card was shown to (hook <c>context.userId</c>), else the CDS client.
/// </summary>
public sealed record FindingReview(
    FeedbackOutcome Outcome,
    string? ReasonCode,
    string? ReasonDisplay,
    string? User,
    DateTimeOffset At);

/// <summary>An override with a reason, with the numbers of the card overridden: what the snooze rule starts from.</summary>
public sealed record OverrideRecord(
    Guid CardUuid,
    CardNumbers Numbers,
    ReasonCoding Reason,
    string? User,
    DateTimeOffset At);

/// <summary>Counts for operators and tests.</summary>
public sealed record StoreCounts(long Cards, long Feedback, long FeedbackForUnknownCards);
