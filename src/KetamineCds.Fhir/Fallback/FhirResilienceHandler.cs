using System.Net;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;

namespace KetamineCds.Fhir.Fallback;

/// <summary>
/// One Polly pipeline per FHIR server origin (so one failing EHR endpoint opens only its own circuit): the circuit
/// breaker outside, then retry with jittered exponential backoff, then a per-attempt timeout that covers the body as
/// well as the headers. The breaker sees one outcome per CALL (after its retries), not one per attempt: a server whose
/// first attempts fail but whose retries succeed is answering, and keeps its circuit closed (issue 8 item 5); a call
/// that fails after every retry counts once. Owned by DI as a singleton and disposed with it.
/// </summary>
public sealed class FhirResiliencePipelines(IOptions<FhirFallbackOptions> options) : IDisposable
{
    internal static readonly ResiliencePropertyKey<FhirCallPolicy> PolicyKey = new("KetamineCds.FhirCallPolicy");

    private readonly ResiliencePipelineRegistry<string> registry = new();

    public ResiliencePipeline<HttpResponseMessage> For(Uri origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var key = origin.GetLeftPart(UriPartial.Authority).ToUpperInvariant();
        return registry.GetOrAddPipeline<HttpResponseMessage>(key, builder => Configure(builder, options.Value));
    }

    public void Dispose() => registry.Dispose();

    private static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, FhirFallbackOptions o)
    {
        builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = o.CircuitFailureRatio,
                MinimumThroughput = o.CircuitMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(o.CircuitSamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(o.CircuitBreakSeconds),
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            })
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, o.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(o.RetryBaseDelayMilliseconds),
                ShouldHandle = args => ValueTask.FromResult(o.MaxRetries > 0 && ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
            })
            .AddTimeout(TimeSpan.FromMilliseconds(o.AttemptTimeoutMilliseconds));
    }

    /// <summary>Transient: 408, 429, 500, 502, 503, 504, an attempt timeout, a failed connection or a broken body.</summary>
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: FhirRequestRefusedException or FhirResponseTooLargeException } => false,
        { Exception: HttpRequestException ex } => !Refused(ex),
        { Exception: TimeoutRejectedException or IOException } => true,
        { Exception: not null } => false,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        _ => false,
    };

    /// <summary>A transient failure is retried unless the server asks to wait longer than the call's budget has left.</summary>
    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (!IsTransient(outcome))
        {
            return false;
        }

        if (RetryAfter(outcome.Result) is { } wait && context.Properties.TryGetValue(PolicyKey, out var policy))
        {
            return wait < policy.Remaining;
        }

        return true;
    }

    /// <summary>Retry-After (seconds or a date) on a 429 or 503; null leaves the jittered backoff in charge.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        if (response?.Headers.RetryAfter is not { } retryAfter
            || response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
        {
            return null;
        }

        var wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return wait is { } w ? (w < TimeSpan.Zero ? TimeSpan.Zero : w) : null;
    }

    private static bool Refused(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is FhirRequestRefusedException)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Runs each request through its origin's pipeline and reads the body inside the attempt, within the size cap: a
/// slow or truncated body is an attempt failure (retried), an oversized one is refused without buffering it.
/// </summary>
public sealed class FhirResilienceHandler(FhirResiliencePipelines pipelines, IOptions<FhirFallbackOptions> options) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is null || !request.Options.TryGetValue(FhirCallPolicy.Key, out var policy))
        {
            throw new FhirRequestRefusedException("A FHIR server request without a call policy was refused.");
        }

        var pipeline = pipelines.For(request.RequestUri);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(FhirResiliencePipelines.PolicyKey, policy);
        try
        {
            return await pipeline.ExecuteAsync(
                static async (ctx, state) => await state.Handler.AttemptAsync(state.Request, ctx.CancellationToken),
                context,
                (Handler: this, Request: request));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<HttpResponseMessage> AttemptAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            await BufferAsync(response, options.Value.MaxResponseBytes, cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task BufferAsync(HttpResponseMessage response, long maxBytes, CancellationToken cancellationToken)
    {
        var original = response.Content;
        if (original.Headers.ContentLength > maxBytes)
        {
            throw new FhirResponseTooLargeException($"The FHIR server announced {original.Headers.ContentLength} bytes; the limit is {maxBytes}.");
        }

        using var body = new MemoryStream();
        await using (var stream = await original.ReadAsStreamAsync(cancellationToken))
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (body.Length + read > maxBytes)
                {
                    throw new FhirResponseTooLargeException($"The FHIR server sent more than {maxBytes} bytes.");
                }

                body.Write(buffer, 0, read);
            }
        }

        var buffered = new ByteArrayContent(body.ToArray());
        foreach (var header in original.Headers)
        {
            buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = buffered;
        original.Dispose();
    }
}
