namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Source-generated log messages. They carry ids, codes, counts and timings only: never resources, names,
/// identifiers, tokens or prefetch content.
/// </summary>
public static partial class Log
{
    // Debug: the audit record is the one Information line per hook call (service, hookInstance, status, cards, findings,
    // hashed patient, elapsed); a second line per call cost as much CPU as the clinical work (docs/performance.md).
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug,
        Message = "Hook answered: service={ServiceId} hookInstance={HookInstance} triggered={Triggered} cards={CardCount} findings={Findings} unreadable={Unreadable} sources={Sources} elapsedMs={ElapsedMs}")]
    public static partial void HookAnswered(ILogger logger, string serviceId, string hookInstance, bool triggered, int cardCount, string findings, int unreadable, string sources, long elapsedMs);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "Hook refused: service={ServiceId} status={Status} code={Code} reason={Reason}")]
    public static partial void HookRefused(ILogger logger, string serviceId, int status, string code, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "Hook data missing: service={ServiceId} hookInstance={HookInstance} missing={MissingKeys}")]
    public static partial void HookDataMissing(ILogger logger, string serviceId, string hookInstance, string missingKeys);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information,
        Message = "Feedback received: service={ServiceId} accepted={Accepted} overridden={Overridden}")]
    public static partial void FeedbackReceived(ILogger logger, string serviceId, int accepted, int overridden);

    [LoggerMessage(EventId = 1900, Level = LogLevel.Error, Message = "Unhandled error on {Path}: {ExceptionType}")]
    public static partial void Unhandled(ILogger logger, string path, string exceptionType);
}
