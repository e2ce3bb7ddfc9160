namespace KetamineCds.Storage;

/// <summary>The record of every card the service issued.</summary>
public interface ICardLedger
{
    /// <summary>Records cards (idempotent on the card uuid). Durable when the task completes.</summary>
    Task RecordAsync(IReadOnlyList<IssuedCard> cards, CancellationToken cancellationToken);

    Task<IssuedCard?> FindCardAsync(Guid cardUuid, CancellationToken cancellationToken);
}

/// <summary>CDS Hooks feedback, kept durably and joined to the ledger.</summary>
public interface IFeedbackStore
{
    /// <summary>
    /// Stores the items in one transaction: all or none. Idempotent: an item with the same card, outcome and
    /// outcomeTimestamp as a stored one is a replay and is not stored again. Durable when the task completes.
    /// </summary>
    Task<FeedbackWriteResult> SaveFeedbackAsync(IReadOnlyList<FeedbackItem> items, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredFeedback>> FeedbackForCardAsync(Guid cardUuid, CancellationToken cancellationToken);

    /// <summary>
    /// Overrides with a reason from <paramref name="reasonSystem"/> of cards with this finding for this patient, whose
    /// time (the earlier of outcomeTimestamp and receipt) is at or after <paramref name="since"/>; newest first.
    /// </summary>
    Task<IReadOnlyList<OverrideRecord>> OverridesAsync(string patientHash, string findingCode, string reasonSystem, DateTimeOffset since, CancellationToken cancellationToken);

    Task<StoreCounts> CountsAsync(CancellationToken cancellationToken);
}

/// <summary>Feedback look-up for the pharmacist review (INTERFACES.md seam 7).</summary>
public interface IFindingReviewStore
{
    /// <summary>The latest feedback (accepted or overridden) on a card with this finding for this patient, or null.</summary>
    Task<FindingReview?> LatestAsync(string patientHash, string findingCode, CancellationToken cancellationToken);
}

/// <summary>One store: ledger, feedback and review look-up over the same database.</summary>
public interface IKetamineCdsStore : ICardLedger, IFeedbackStore, IFindingReviewStore, IAsyncDisposable
{
    /// <summary>Creates or migrates the schema (idempotent; safe with several instances starting at once).</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>"sqlite" or "postgres", for logs.</summary>
    string Provider { get; }
}
