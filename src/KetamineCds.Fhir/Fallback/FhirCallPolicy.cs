using System.Diagnostics;

namespace KetamineCds.Fhir.Fallback;

/// <summary>
/// What one fetch may do, carried on each HttpRequestMessage (its Options) from the per-call guard to the resilience
/// handler and the connect callback, which are shared by all calls.
/// </summary>
public sealed class FhirCallPolicy(Uri allowedOrigin, bool allowPrivateAddress, bool allowLoopback, long deadlineTimestamp)
{
    public static readonly HttpRequestOptionsKey<FhirCallPolicy> Key = new("KetamineCds.FhirCallPolicy");

    /// <summary>The allow-listed FHIR server; the only origin a request may go to and the only one that gets the token.</summary>
    public Uri AllowedOrigin { get; } = allowedOrigin;

    public bool AllowPrivateAddress { get; } = allowPrivateAddress;

    public bool AllowLoopback { get; } = allowLoopback;

    /// <summary>When the hook call's fetch budget runs out (a Stopwatch timestamp).</summary>
    public long DeadlineTimestamp { get; } = deadlineTimestamp;

    public TimeSpan Remaining
    {
        get
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), DeadlineTimestamp);
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }
}

/// <summary>The SSRF policy refused a connection or request before anything was sent. Never retried.</summary>
public sealed class FhirRequestRefusedException : Exception
{
    public FhirRequestRefusedException()
    {
    }

    public FhirRequestRefusedException(string message)
        : base(message)
    {
    }

    public FhirRequestRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A FHIR server response larger than the configured cap. Never retried.</summary>
public sealed class FhirResponseTooLargeException : Exception
{
    public FhirResponseTooLargeException()
    {
    }

    public FhirResponseTooLargeException(string message)
        : base(message)
    {
    }

    public FhirResponseTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
