using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using KetamineCds.Api.Audit;
using KetamineCds.Api.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.CdsHooks;

/// <summary>
/// One hook call, in one direction: HTTP edge -> parse/validate -> gather FHIR data -> evaluate rules -> cards.
/// Every refusal is an OperationOutcome with the right status; nothing here answers 500.
/// </summary>
public sealed class HookHandler(
    HookPipeline pipeline,
    IAuditSink audit,
    IOptions<CdsOptions> options,
    ILogger<HookHandler> logger)
{
    public async Task<IResult> HandleAsync(string serviceId, HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var started = Stopwatch.GetTimestamp();
        var service = CdsServiceCatalog.Find(serviceId);
        if (service is null)
        {
            return Refuse(serviceId, new RequestError(StatusCodes.Status404NotFound, "not-found", $"No CDS service '{serviceId}'. See GET /cds-services."));
        }

        if (!IsJson(http.Request.ContentType))
        {
            return Refuse(serviceId, new RequestError(StatusCodes.Status415UnsupportedMediaType, "not-supported", "Send the hook request as application/json."));
        }

        var (body, bodyError) = await ReadBodyAsync(http, cancellationToken);
        if (bodyError is not null)
        {
            return Refuse(serviceId, bodyError);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = options.Value.MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            var reason = ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase)
                ? $"The request JSON is nested deeper than {options.Value.MaxJsonDepth} levels."
                : "The request body is not valid JSON.";
            return Refuse(serviceId, new RequestError(StatusCodes.Status400BadRequest, "structure", reason));
        }

        using (document)
        {
            var outcome = await pipeline.RunAsync(service, document.RootElement, cancellationToken, http.User.FindFirst("iss")?.Value);
            if (outcome.PatientId is { } patientId)
            {
                // The audit record (written by the audit middleware) gets the keyed hash of the patient id, never the id.
                audit.Describe(http, outcome.HookInstance!, patientId, outcome.Response?.Cards.Count ?? 0, outcome.Findings);
            }

            if (outcome.Error is { } error)
            {
                return error.Status == StatusCodes.Status412PreconditionFailed
                    ? OperationOutcomes.Result(error.Status, error.Code, error.Message)
                    : Refuse(serviceId, error);
            }

            Log.HookAnswered(logger, serviceId, outcome.HookInstance!, outcome.Triggered, outcome.Response!.Cards.Count,
                string.Join(",", outcome.Findings), outcome.UnreadableResources,
                string.Join(",", outcome.Sources.Select(s => $"{s.Key}:{s.Value}")),
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return TypedResults.Json(outcome.Response, CdsJson.Options);
        }
    }

    private IResult Refuse(string serviceId, RequestError error)
    {
        Log.HookRefused(logger, serviceId, error.Status, error.Code, error.Message);
        return OperationOutcomes.Result(error.Status, error.Code, error.Message);
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads the body up to the configured limit; anything larger is a 413, whatever Content-Length claimed.</summary>
    private async Task<(ReadOnlyMemory<byte> Body, RequestError? Error)> ReadBodyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var tooLarge = new RequestError(StatusCodes.Status413PayloadTooLarge, "too-long", $"The request body exceeds {limit} bytes.");
        if (http.Request.ContentLength > limit)
        {
            return (default, tooLarge);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(http.Request.ContentLength ?? 16 * 1024, limit) + 1);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(16 * 1024);
                var read = await http.Request.Body.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    return (default, tooLarge);
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            return (default, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? tooLarge
                : new RequestError(ex.StatusCode, "structure", "The request body could not be read."));
        }

        return (buffer.WrittenMemory, null);
    }
}
