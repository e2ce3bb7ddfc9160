using System.Buffers;
using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KetamineCds.Api.CdsHooks;

namespace KetamineCds.Api.Audit;

/// <summary>
/// Writes one audit record per hook call (POST /cds-services/{id}) as one JSON object in the message of the logger
/// category <c>KetamineCds.Audit</c>, after the response status is known: refusals (401/403/413/429/412) included.
/// The format is documented in docs/security.md; add fields, never rename them.
/// <para>Cost per call (issue 8 item 1): the record is written into a per-thread buffer and turned into one string; it is
/// logged with a state that carries it once (<see cref="AuditEntry"/>), so the JSON console formatter writes it as the
/// message only, not again as <c>State.Message</c> and as a state property (three escaped copies per line before).</para>
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, TimeProvider time, ILoggerFactory loggerFactory)
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
            if (logger.IsEnabled(LogLevel.Information))
            {
                var record = Format(context, at, status, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                logger.Log(LogLevel.Information, RecordEvent, new AuditEntry(record), null, static (entry, _) => entry.Record);
            }
        }
    }

    /// <summary>Event 5000, as the source-generated logger used to write it.</summary>
    private static readonly EventId RecordEvent = new(5000, "Record");

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>The audit record, one JSON object (docs/security.md).</summary>
    public static string Format(HttpContext context, DateTimeOffset at, int status, long elapsedMs)
    {
        ArgumentNullException.ThrowIfNull(context);
        var described = context.Features.Get<HookCallDescription>();
        var serviceId = context.Request.RouteValues.TryGetValue("id", out var id) && id is string s && CdsServiceCatalog.Find(s) is not null
            ? s
            : "unknown";
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;

        // Written synchronously on this thread, then copied into the string: the buffer and writer are reused.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(buffer);
        json.Reset(buffer);
        try
        {
            json.WriteStartObject();
            json.WriteString(TypeName, TypeValue);
            Span<char> time = stackalloc char[32];
            json.WriteString(TimeName, at.UtcDateTime.TryFormat(time, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
                ? time[..written]
                : at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString(ServiceName, serviceId);
            json.WriteString(EndpointName, context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName);
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
            json.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            // Drops the reference to the buffer's contents and any half-written state (an exception mid-record).
            json.Reset();
        }
    }

    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText TypeValue = JsonEncodedText.Encode("cds-hook-call");
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText ServiceName = JsonEncodedText.Encode("service");
    private static readonly JsonEncodedText EndpointName = JsonEncodedText.Encode("endpoint");

    /// <summary>
    /// The state the record is logged with. Every formatter writes the message (<c>formatter(state, exception)</c>, the
    /// record); the JSON console formatter also writes <c>State.Message</c> (this type's <see cref="ToString"/>) and each
    /// property of the state. Carrying no properties and a fixed ToString, the record is written once per line.
    /// </summary>
    private readonly struct AuditEntry(string record) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Record { get; } = record;

        public int Count => 0;

        public KeyValuePair<string, object?> this[int index] => throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)[]).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        /// <summary>The record type, not the record: the record is the message.</summary>
        public override string ToString() => "cds-hook-call";
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
}
