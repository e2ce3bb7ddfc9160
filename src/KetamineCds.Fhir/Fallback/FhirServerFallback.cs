using System.Diagnostics;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace KetamineCds.Fhir.Fallback;

/// <summary>
/// Reads what prefetch left out from the EHR's FHIR server with Firely's FhirClient over the named, hardened HTTP
/// client. Never throws for a network or data problem: anything that stops it from reading every page of a search
/// within the limits gives a batch that is not Complete, and the gatherer answers 412 when the key is required.
/// </summary>
public sealed partial class FhirServerFallback(
    IHttpMessageHandlerFactory handlers,
    FhirServerPolicy policy,
    IOptions<FhirFallbackOptions> options,
    ILogger<FhirServerFallback> logger) : IFhirFallback
{
    public async Task<ResourceBatch> SearchAsync(FhirServerAccess server, PrefetchKey key, string patientId, string? continueFrom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(key);
        var started = Stopwatch.GetTimestamp();
        var decision = policy.EvaluateListed(server.BaseUrl);
        if (!decision.Allowed || decision.Server is null)
        {
            LogRefused(logger, key.Key, decision.Reason);
            return ResourceBatch.Missing;
        }

        var o = options.Value;
        // One budget per hook call, counted from when the call was parsed and shared by every key, page and retry.
        var deadline = server.StartedTimestamp + (long)(o.DeadlineMilliseconds * (Stopwatch.Frequency / 1000.0));
        var callPolicy = new FhirCallPolicy(decision.Server.BaseUrl, decision.Server.AllowPrivateAddress, o.AllowHttpLoopback, deadline);
        var remaining = callPolicy.Remaining;
        if (remaining <= TimeSpan.Zero)
        {
            LogFinished(logger, key.Key, Origin(server.BaseUrl), "budget-spent", 0, 0, 0, 0);
            return ResourceBatch.Missing;
        }

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(remaining);
        using var guard = new FhirRequestGuard(callPolicy, server.AccessToken) { InnerHandler = handlers.CreateHandler(FhirHttp.ClientName) };
        using var http = new HttpClient(guard, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = o.MaxResponseBytes };
        using var client = new FhirClient(server.BaseUrl, http, new FhirClientSettings
        {
            PreferredFormat = ResourceFormat.Json,
            VerifyFhirVersion = false,
            SerializationEngine = FhirSerializationEngineFactory.Ostrich(ModelInfo.ModelInspector),
        });

        var outcome = "complete";
        var result = ResourceBatch.Missing;
        var resources = new List<Resource>();
        var included = new List<Medication>();
        var readWithErrors = 0;
        var skipped = 0;
        var entries = 0;
        var pages = 0;
        try
        {
            var url = continueFrom ?? $"{key.QueryFor(patientId)}&_count={o.PageSize}";
            while (true)
            {
                if (pages == o.MaxPages)
                {
                    outcome = "page-cap";
                    result = Batch(PrefetchState.Paged, url);
                    break;
                }

                if (continueFrom is not null || pages > 0)
                {
                    if (!Uri.TryCreate(url, UriKind.Absolute, out var next) || !FhirServerUrls.SameOrigin(next, decision.Server.BaseUrl))
                    {
                        // A next link to another host, port or scheme is never followed (nor sent the token).
                        outcome = "next-other-origin";
                        result = Batch(PrefetchState.Paged, url);
                        break;
                    }
                }

                pages++;
                var page = await ReadPageAsync(client, guard, url, budget.Token);
                if (page is null)
                {
                    outcome = "unreadable-page";
                    break;
                }

                using (page)
                {
                    var root = page.RootElement;
                    entries += root.TryGetProperty("entry", out var e) && e.ValueKind == JsonValueKind.Array ? e.GetArrayLength() : 0;
                    if (entries > o.MaxEntries)
                    {
                        outcome = "entry-cap";
                        result = Batch(PrefetchState.Paged, null);
                        break;
                    }

                    var batch = PrefetchReader.Read(root, key.ResourceType, patientId);
                    resources.AddRange(batch.Resources);
                    // The Medications a medicationReference points to (_include) come on the page of the entry that
                    // names them, or on another: they are kept across pages, as they would be in one prefetch Bundle.
                    included.AddRange(batch.IncludedMedications);
                    readWithErrors += batch.ReadWithErrors;
                    skipped += batch.Skipped;
                    if (batch.NextLink is null)
                    {
                        result = Batch(PrefetchState.Complete, null);
                        break;
                    }

                    url = batch.NextLink;
                }
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            outcome = cancellationToken.IsCancellationRequested ? "caller-cancelled" : "deadline";
        }
        catch (BrokenCircuitException)
        {
            outcome = "circuit-open";
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // Text that is not valid Unicode where the page itself is read (resourceType, a link): the page is unreadable,
            // and the key is incomplete (412 when required). Entries with such text are skipped one by one by PrefetchReader.
            outcome = "unreadable-text";
        }
        catch (Exception ex) when (ex is HttpRequestException or FhirOperationException or FhirRequestRefusedException
                                       or FhirResponseTooLargeException or Polly.Timeout.TimeoutRejectedException or IOException)
        {
            outcome = Describe(ex);
        }

        LogFinished(logger, key.Key, Origin(server.BaseUrl), outcome, pages, guard.RequestsSent, result.Resources.Count,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return result;

        ResourceBatch Batch(PrefetchState state, string? next) =>
            new(state, resources, skipped, next) { IncludedMedications = included, ReadWithErrors = readWithErrors };
    }

    /// <summary>
    /// Reads one page. Firely makes the request and maps errors; its own parse (Ostrich: never throws for content) is
    /// not used. The raw body goes through <see cref="PrefetchReader"/>, which skips and counts unreadable entries the
    /// same way for prefetch and fetched data. Null when the page is not a readable searchset Bundle.
    /// </summary>
    private static async Task<JsonDocument?> ReadPageAsync(FhirClient client, FhirRequestGuard guard, string url, CancellationToken cancellationToken)
    {
        try
        {
            await client.GetAsync(url, cancellationToken);
        }
        catch (Exception ex) when (ex is FormatException or DeserializationFailedException or JsonException or InvalidOperationException
                                       || (ex is FhirOperationException && guard.LastStatus is >= 200 and < 300))
        {
            // A 2xx body Firely could not read: PrefetchReader decides below.
        }

        if (guard.LastStatus is not (>= 200 and < 300) || guard.LastBody is not { Length: > 0 } body)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }

        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("resourceType", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "Bundle")
        {
            document.Dispose();
            return null;
        }

        return document;
    }

    private static string Origin(Uri url) => url.GetLeftPart(UriPartial.Authority);

    private static string Describe(Exception ex) => ex switch
    {
        FhirRequestRefusedException => "refused",
        HttpRequestException { InnerException: FhirRequestRefusedException } => "refused",
        FhirResponseTooLargeException => "too-large",
        FhirOperationException op => $"http-{(int)op.Status}",
        Polly.Timeout.TimeoutRejectedException => "attempt-timeout",
        _ => ex.GetType().Name,
    };

    // Origins, keys, counts and timings only: the URL's query holds the patient id and is never logged.
    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "FHIR server fetch refused: key={Key} reason={Reason}")]
    private static partial void LogRefused(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "FHIR server fetch: key={Key} origin={Origin} outcome={Outcome} pages={Pages} requests={Requests} resources={Resources} elapsedMs={ElapsedMs}")]
    private static partial void LogFinished(ILogger logger, string key, string origin, string outcome, int pages, int requests, int resources, long elapsedMs);
}
