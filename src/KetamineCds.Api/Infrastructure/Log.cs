namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Source-generated log messages. They carry ids, codes, counts and timings only: never resources, names,
/// identifiers, tokens or prefetch content. Every request-derived string passes through <see cref="LogText.Safe"/>
/// here, before any formatter or provider sees it (escaped and cut), so no caller can forge a line or flood the log;
/// the call sites pass raw values and cannot forget.
/// </summary>
public static partial class Log
{
    public static void HookAnswered(ILogger logger, string serviceId, string hookInstance, bool triggered, int cardCount, string findings, int unreadable, string sources, long elapsedMs) =>
        HookAnsweredCore(logger, LogText.Safe(serviceId), LogText.Safe(hookInstance), triggered, cardCount, findings, unreadable, sources, elapsedMs);

    public static void HookRefused(ILogger logger, string serviceId, int status, string code, string reason) =>
        HookRefusedCore(logger, LogText.Safe(serviceId), status, LogText.Safe(code), LogText.Safe(reason, LogText.MessageMaxLength));

    public static void HookDataMissing(ILogger logger, string serviceId, string hookInstance, string missingKeys) =>
        HookDataMissingCore(logger, LogText.Safe(serviceId), LogText.Safe(hookInstance), LogText.Safe(missingKeys, LogText.MessageMaxLength));

    public static void FeedbackReceived(ILogger logger, string serviceId, int accepted, int overridden) =>
        FeedbackReceivedCore(logger, LogText.Safe(serviceId), accepted, overridden);

    public static void ClientDisconnected(ILogger logger, string serviceId) =>
        ClientDisconnectedCore(logger, LogText.Safe(serviceId));

    public static void Unhandled(ILogger logger, string path, string exceptionType) =>
        UnhandledCore(logger, LogText.Safe(path), exceptionType);

    // Debug: the audit record is the one Information line per hook call (service, hookInstance, status, cards, findings,
    // hashed patient, elapsed); a second line per call cost as much CPU as the clinical work (docs/performance.md).
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug,
        Message = "Hook answered: service={ServiceId} hookInstance={HookInstance} triggered={Triggered} cards={CardCount} findings={Findings} unreadable={Unreadable} sources={Sources} elapsedMs={ElapsedMs}")]
    private static partial void HookAnsweredCore(ILogger logger, string serviceId, string hookInstance, bool triggered, int cardCount, string findings, int unreadable, string sources, long elapsedMs);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "Hook refused: service={ServiceId} status={Status} code={Code} reason={Reason}")]
    private static partial void HookRefusedCore(ILogger logger, string serviceId, int status, string code, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "Hook data missing: service={ServiceId} hookInstance={HookInstance} missing={MissingKeys}")]
    private static partial void HookDataMissingCore(ILogger logger, string serviceId, string hookInstance, string missingKeys);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information,
        Message = "Feedback received: service={ServiceId} accepted={Accepted} overridden={Overridden}")]
    private static partial void FeedbackReceivedCore(ILogger logger, string serviceId, int accepted, int overridden);

    /// <summary>A client that closed the connection mid-upload: its own event, not a refusal (issue 8 item 8).</summary>
    [LoggerMessage(EventId = 1004, Level = LogLevel.Information,
        Message = "Client disconnected before the request body was read: service={ServiceId}")]
    private static partial void ClientDisconnectedCore(ILogger logger, string serviceId);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Native allocator: glibc malloc arenas outcome={Outcome} max={ArenaMax}")]
    public static partial void NativeAllocatorConfigured(ILogger logger, string outcome, int arenaMax);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Native heap: free pages given back to the kernel every {IntervalSeconds} s")]
    public static partial void NativeHeapTrimOn(ILogger logger, int intervalSeconds);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Native heap: not trimmed: reason={Reason}")]
    public static partial void NativeHeapTrimOff(ILogger logger, string reason);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Debug, Message = "Native heap trimmed: released={Released} elapsedMs={ElapsedMs:F3}")]
    public static partial void NativeHeapTrimmed(ILogger logger, bool released, double elapsedMs);

    [LoggerMessage(EventId = 1900, Level = LogLevel.Error, Message = "Unhandled error on {Path}: {ExceptionType}")]
    private static partial void UnhandledCore(ILogger logger, string path, string exceptionType);
}
