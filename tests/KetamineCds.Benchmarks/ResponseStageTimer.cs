using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Feedback;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>
/// The response side of one order-sign on the realistic chart (issue 8 item 1), in this process: rendering the cards,
/// writing the answer (the reflection serializer with CdsJson.Options and CdsResponseJson, interleaved on the same
/// cards), the card numbers the ledger stores, and the audit record. CPU time and bytes allocated per call.
/// Run: dotnet run -c Release --project tests/KetamineCds.Benchmarks -- response [N]
/// </summary>
public static class ResponseStageTimer
{
    public static void Run(int calls)
    {
        var payload = KetamineCds.LoadHarness.RealisticChart.Build(100);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Links on every card, as in a deployment.
            ["KetamineCds:Security:PublicBaseUrl"] = "https://cds.example.org",
        }).Build();
        using var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton<IConfiguration>(configuration)
            .AddKetamineCdsCore()
            .BuildServiceProvider();
        Warmup.RunAsync(services).GetAwaiter().GetResult();
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
        var context = new RenderContext(gathered.SkippedResources, gathered.ObservationsAvailable, gathered.ReadWithErrors, request.HookInstance);
        var cards = renderer.Render(evaluation.Findings, context);
        var response = new CdsServiceResponse(cards);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var writer = new Utf8JsonWriter(buffer);

        var stages = new Dictionary<string, (TimeSpan Time, long Bytes)>();
        void Measure(string name, Action action)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            action();
            var elapsed = Stopwatch.GetElapsedTime(started);
            var (t, b) = stages.GetValueOrDefault(name);
            stages[name] = (t + elapsed, b + GC.GetAllocatedBytesForCurrentThread() - bytes);
        }

        for (var round = 0; round < 2; round++)
        {
            stages.Clear();
            for (var i = 0; i < calls; i++)
            {
                Measure("render cards", () => renderer.Render(evaluation.Findings, context));
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
            }
        }

        Console.WriteLine($"payload {payload.Length:N0} bytes; {cards.Count} cards ({string.Join(", ", evaluation.Findings.Select(f => f.Code))}); " +
                          $"answer {buffer.WrittenCount:N0} bytes; {calls} calls; per call:");
        foreach (var (name, (time, bytes)) in stages)
        {
            Console.WriteLine($"  {name,-50} {time.TotalMilliseconds * 1000 / calls,9:F1} us {bytes / (double)calls / 1024.0,9:F2} KB");
        }
    }
}
