using System.Diagnostics;
using System.Text;
using System.Text.Json;
using KetamineCds.Api.CdsHooks;

namespace KetamineCds.Api.Audit;

/// <summary>
/// Writes one audit record per hook call (POST /cds-services/{id}) as one JSON object in the message of the logger
/// category <c>KetamineCds.Audit</c>, after the response status is known: refusals (401/403/413/429/412) included.
/// The format is documented in docs/security.md; add fields, never rename them.
/// </summary>
public sealed partial class AuditMiddleware(RequestDelegate next, TimeProvider time, ILoggerFactory loggerFactory)
{
    public const string Category = "KetamineCds.Audit";

    private readonly ILogger logger = loggerFactory.CreateLogger(Category);

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!HttpMethods.IsPost(context.Request.Method)
            || context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is not ("CallService" or "Feedback"))
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var at = time.GetUtcNow();
        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            Log.Record(logger, Format(context, at, status, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        }
    }

    private static string Format(HttpContext context, DateTimeOffset at, int status, long elapsedMs)
    {
        var described = context.Features.Get<HookCallDescription>();
        var serviceId = context.Request.RouteValues.TryGetValue("id", out var id) && id is string s && CdsServiceCatalog.Find(s) is not null
            ? s
            : "unknown";
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "cds-hook-call");
            json.WriteString("time", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("service", serviceId);
            json.WriteString("endpoint", context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName);
            // Only an authenticated issuer is recorded: an unverified iss is attacker-chosen text.
            WriteOptional(json, "issuer", authenticated ? user.FindFirst("iss")?.Value : null);
            WriteOptional(json, "tenant", authenticated ? user.FindFirst("tenant")?.Value : null);
            // Escaped and cut like every logged value: the caller chose it, and one request must not write megabytes.
            WriteOptional(json, "hookInstance", described is null ? null : KetamineCds.Api.Infrastructure.LogText.Safe(described.HookInstance));
            json.WriteNumber("status", status);
            json.WriteString("outcome", Outcome(status));
            if (described is not null)
            {
                json.WriteNumber("cards", described.CardCount);
                json.WriteStartArray("findings");
                foreach (var code in described.FindingCodes)
                {
                    json.WriteStringValue(code);
                }

                json.WriteEndArray();
                json.WriteString("patient", described.PatientHash);
            }

            json.WriteNumber("elapsedMs", elapsedMs);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private static string Outcome(int status) => status switch
    {
        >= 200 and < 300 => "answered",
        401 => "unauthenticated",
        403 => "forbidden",
        429 => "rate-limited",
        412 => "data-unavailable",
        KetamineCds.Api.Infrastructure.OperationOutcomes.ClientClosedRequest => "client-disconnected",
        503 => "unavailable",
        >= 500 => "error",
        _ => "refused",
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "{AuditRecord}")]
        public static partial void Record(ILogger logger, string auditRecord);
    }
}
