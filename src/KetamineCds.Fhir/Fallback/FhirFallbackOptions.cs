using System.ComponentModel.DataAnnotations;

namespace KetamineCds.Fhir.Fallback;

/// <summary>
/// Limits for reading from the EHR's FHIR server (section "KetamineCds:FhirFallback"). The defaults keep a hook answer
/// well under one second: order entry must not stall on a slow EHR (issue 3).
/// </summary>
public sealed class FhirFallbackOptions
{
    public const string Section = "KetamineCds:FhirFallback";

    /// <summary>Total time for every fetch one hook call makes (all keys, pages, retries and backoff together).</summary>
    [Range(50, 60_000)]
    public int DeadlineMilliseconds { get; set; } = 800;

    /// <summary>One HTTP attempt, headers and body, before it counts as a timeout and may be retried.</summary>
    [Range(20, 60_000)]
    public int AttemptTimeoutMilliseconds { get; set; } = 300;

    /// <summary>Retries after the first attempt for transient failures (5xx, 408, 429, timeouts, broken bodies).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Base delay of the jittered exponential backoff.</summary>
    [Range(1, 10_000)]
    public int RetryBaseDelayMilliseconds { get; set; } = 40;

    /// <summary>Search pages read per key (the first page counts); more pages than this means the data is incomplete.</summary>
    [Range(1, 100)]
    public int MaxPages { get; set; } = 5;

    /// <summary>Bundle entries read per key over all pages; more than this means the data is incomplete.</summary>
    [Range(1, 100_000)]
    public int MaxEntries { get; set; } = 1000;

    /// <summary>The _count asked for on the first page (servers may send fewer).</summary>
    [Range(1, 1000)]
    public int PageSize { get; set; } = 100;

    /// <summary>Largest response body read, in bytes; a larger one is refused, never buffered.</summary>
    [Range(1024, 64L * 1024 * 1024)]
    public long MaxResponseBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>Plain http to a loopback address (development and tests only); never to anything else.</summary>
    public bool AllowHttpLoopback { get; set; }

    /// <summary>Failure ratio (0-1) over the sampling window that opens one FHIR server's circuit.</summary>
    [Range(0.01, 1.0)]
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>Calls (each with its retries) within the sampling window before the breaker may open.</summary>
    [Range(2, 10_000)]
    public int CircuitMinimumThroughput { get; set; } = 10;

    [Range(1, 3600)]
    public int CircuitSamplingSeconds { get; set; } = 30;

    /// <summary>How long an open circuit refuses calls to that FHIR server before one trial call.</summary>
    [Range(1, 3600)]
    public int CircuitBreakSeconds { get; set; } = 15;
}
