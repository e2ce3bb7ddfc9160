namespace KetamineCds.Api.Feedback;

/// <summary>Log messages of the feedback store and the snooze step: counts, codes and ids only; never comments or patient ids.</summary>
internal static partial class FeedbackLog
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Feedback store: provider={Provider} location={Location} schema ready")]
    public static partial void StoreReady(ILogger logger, string provider, string location);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information,
        Message = "Feedback stored: service={ServiceId} items={Items} stored={Stored} duplicates={Duplicates} unknownCards={UnknownCards} accepted={Accepted} overridden={Overridden}")]
    public static partial void FeedbackStored(ILogger logger, string serviceId, int items, int stored, int duplicates, int unknownCards, int accepted, int overridden);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Feedback not stored (answered 503): service={ServiceId} items={Items} error={ErrorType}")]
    public static partial void FeedbackStoreFailed(ILogger logger, string serviceId, int items, string errorType);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Card ledger queue full: {Dropped} card(s) answered but not recorded (feedback on them will be an unknown card)")]
    public static partial void LedgerDropped(ILogger logger, int dropped);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Card ledger write failed: cards={Cards} attempt={Attempt} error={ErrorType}")]
    public static partial void LedgerWriteFailed(ILogger logger, int cards, int attempt, string errorType);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information,
        Message = "Cards snoozed after an override: service={ServiceId} hookInstance={HookInstance} findings={Findings}")]
    public static partial void Snoozed(ILogger logger, string serviceId, string hookInstance, string findings);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning,
        Message = "Snooze look-up unavailable, cards shown unfiltered: service={ServiceId} hookInstance={HookInstance} error={ErrorType}")]
    public static partial void SnoozeLookupFailed(ILogger logger, string serviceId, string hookInstance, string errorType);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "Feedback retention: {Deleted} row(s) older than {Days} days deleted")]
    public static partial void RetentionApplied(ILogger logger, int deleted, int days);
}
