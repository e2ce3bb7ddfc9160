using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using KetamineCds.Api.Audit;
using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Feedback;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>
/// The response side of one order-sign on the realistic chart (issue 8 item 1), in this process: rendering the cards,
/// writing the answer (the reflection serializer with CdsJson.Options and CdsResponseJson, interleaved on the same
/// cards), the card numbers the ledger stores, and the audit record. CPU time of this thread (CLOCK_THREAD_CPUTIME_ID:
/// steady on a loaded machine, unlike wall time) and bytes allocated, per call.
/// Run: dotnet run -c Release --project tests/KetamineCds.Benchmarks -- response [N]
/// </summary>
public static class ResponseStageTimer
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // DllImport, not LibraryImport: the generated stub needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>This thread's CPU time (Linux CLOCK_THREAD_CPUTIME_ID = 3).</summary>
    private static TimeSpan ThreadCpu()
    {
        _ = ClockGetTime(3, out var t);
        return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
    }

    public static void Run(int calls)
    {
        var payload = KetamineCds.LoadHarness.RealisticChart.Build(100);
        var settings = new Dictionary<string, string?>
        {
            // Links on every card, as in a deployment.
            ["KetamineCds:Security:PublicBaseUrl"] = "https://cds.example.org",
        };
        using var services = WarmCore.Start(settings);
        var service = CdsServiceCatalog.Find("ketamine-order-sign")!;
        using var document = JsonDocument.Parse(payload);
        var request = HookRequestParser.Parse(document.RootElement, service, out var error);
        if (error is not null)
        {
            throw new InvalidOperationException(error.Message);
        }

        var gathered = services.GetRequiredService<PatientDataGatherer>().GatherAsync(
            new GatherRequest(request.PatientId, request.Prefetch, request.DraftOrders, request.Selections, request.Server), CancellationToken.None)
            .GetAwaiter().GetResult();
        var evaluation = services.GetRequiredService<CdsEvaluator>().Evaluate(service.Kind, gathered.Data!, DateTimeOffset.UtcNow);
        var renderer = services.GetRequiredService<CardRenderer>();
        var legacy = new Baseline.LegacyCardRenderer(services.GetRequiredService<KetamineCds.Clinical.Knowledge.ClinicalKnowledge>(),
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<KetamineCds.Api.Security.CdsSecurityOptions>>());
        var context = new RenderContext(gathered.SkippedResources, gathered.ObservationsAvailable, gathered.ReadWithErrors, request.HookInstance);
        var cards = renderer.Render(evaluation.Findings, context);
        var response = new CdsServiceResponse(cards);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var writer = new Utf8JsonWriter(buffer);

        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.RouteValues["id"] = service.Descriptor.Id;
        http.Features.Set(new HookCallDescription(request.HookInstance, "hmac-sha256:" + new string('a', 64), cards.Count,
            [.. evaluation.Findings.Select(f => f.Code)]));
        var at = DateTimeOffset.UtcNow;

        var stages = new Dictionary<string, (TimeSpan Time, long Bytes)>();
        void Measure(string name, Action action)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var started = ThreadCpu();
            action();
            var elapsed = ThreadCpu() - started;
            var (t, b) = stages.GetValueOrDefault(name);
            stages[name] = (t + elapsed, b + GC.GetAllocatedBytesForCurrentThread() - bytes);
        }

        for (var round = 0; round < 2; round++)
        {
            stages.Clear();
            for (var i = 0; i < calls; i++)
            {
                Measure("render cards: before (Baseline/LegacyCardRenderer)", () => legacy.Render(evaluation.Findings, context));
                Measure("render cards: CardRenderer", () => renderer.Render(evaluation.Findings, context));
                Measure("write answer: JsonSerializer + CdsJson.Options", () =>
                {
                    buffer.ResetWrittenCount();
                    writer.Reset(buffer);
                    JsonSerializer.Serialize(writer, response, CdsJson.Options);
                    writer.Flush();
                });
                Measure("write answer: CdsResponseJson", () =>
                {
                    buffer.ResetWrittenCount();
                    writer.Reset(buffer);
                    CdsResponseJson.Write(writer, response);
                    writer.Flush();
                });
                Measure("ledger: card numbers of every card", () =>
                {
                    foreach (var card in cards)
                    {
                        CardReviewStep.NumbersOf(card.Extension!.KetamineCds);
                    }
                });
                Measure("audit record: before (MemoryStream, new writer)", () => LegacyAuditFormat(http, at, 200, 1));
                Measure("audit record: AuditMiddleware.Format", () => AuditMiddleware.Format(http, at, 200, 1));
            }
        }

        var a = legacy.Render(evaluation.Findings, context);
        var b = renderer.Render(evaluation.Findings, context);
        Console.WriteLine(a.Zip(b).All(p => p.First with { Uuid = "" } == p.Second with { Uuid = "" } || Same(p.First, p.Second))
            ? "old and new renderer: the same cards (uuid aside)"
            : "old and new renderer: DIFFERENT cards");
        Console.WriteLine($"payload {payload.Length:N0} bytes; {cards.Count} cards ({string.Join(", ", evaluation.Findings.Select(f => f.Code))}); " +
                          $"answer {buffer.WrittenCount:N0} bytes; {calls} calls; per call:");
        foreach (var (name, (time, bytes)) in stages)
        {
            Console.WriteLine($"  {name,-50} {time.TotalMilliseconds * 1000 / calls,9:F1} us {bytes / (double)calls / 1024.0,9:F2} KB");
        }
    }

    private static bool Same(Card x, Card y) =>
        JsonSerializer.Serialize(x with { Uuid = "" }, CdsJson.Options) == JsonSerializer.Serialize(y with { Uuid = "" }, CdsJson.Options);

    /// <summary>The audit record as AuditMiddleware built it before (a MemoryStream and a new writer per call, the time via ToString).</summary>
    private static string LegacyAuditFormat(HttpContext context, DateTimeOffset at, int status, long elapsedMs)
    {
        var described = context.Features.Get<HookCallDescription>()!;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "cds-hook-call");
            json.WriteString("time", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("service", (string)context.Request.RouteValues["id"]!);
            json.WriteString("endpoint", context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IEndpointNameMetadata>()?.EndpointName);
            json.WriteString("hookInstance", LogText.Safe(described.HookInstance));
            json.WriteNumber("status", status);
            json.WriteString("outcome", "answered");
            json.WriteNumber("cards", described.CardCount);
            json.WriteStartArray("findings");
            foreach (var code in described.FindingCodes)
            {
                json.WriteStringValue(code);
            }

            json.WriteEndArray();
            json.WriteString("patient", described.PatientHash);
            json.WriteNumber("elapsedMs", elapsedMs);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
