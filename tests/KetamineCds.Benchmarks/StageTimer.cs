using System.Diagnostics;
using System.Text.Json;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>
/// Where one order-sign's time goes, stage by stage, on the realistic chart, in this process (no HTTP): CPU time and
/// bytes allocated per call, by stage. Coarser than a trace, but repeatable on a noisy machine.
/// </summary>
public static class StageTimer
{
    public static void Run(int calls)
    {
        var payload = KetamineCds.LoadHarness.RealisticChart.Build(100);
        var services = WarmCore.Start();
        var pipeline = services.GetRequiredService<HookPipeline>();
        var service = CdsServiceCatalog.Find("ketamine-order-sign")!;

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

        for (var warm = 0; warm < 2; warm++)
        {
            stages.Clear();
            for (var i = 0; i < calls; i++)
            {
                JsonDocument doc = null!;
                Measure("parse whole (JsonDocument, for comparison)", () => doc = JsonDocument.Parse(payload));
                doc.Dispose();
                SplitRequest split = null!;
                Measure("read once (split + envelope document)", () =>
                {
                    split = PrefetchSplitter.Split(payload, 64)!;
                    doc = JsonDocument.Parse(split.Envelope);
                });
                HookOutcome outcome = null!;
                Measure("pipeline (validate, gather, rules, cards)", () => outcome = pipeline.RunAsync(service, doc.RootElement, CancellationToken.None, null, split.Bundles).GetAwaiter().GetResult());
                Measure("serialize response", () => CdsResponseJson.ToUtf8Bytes(outcome.Response));
                Measure("  of which: medication keys read (screen, kept reads)", () =>
                {
                    var prefetch = doc.RootElement.GetProperty("prefetch");
                    foreach (var key in new[] { "medicationStatements", "medicationRequests" })
                    {
                        PrefetchReader.Read(prefetch.GetProperty(key), key == "medicationStatements" ? "MedicationStatement" : "MedicationRequest", "table2-patient-13",
                            services.GetRequiredService<ResourceScreen>(), split.Bundles[key], Clinical.Medications.MedicationSource.Request);
                    }
                });
                doc.Dispose();
                split.Dispose();
            }
        }

        Console.WriteLine($"payload {payload.Length:N0} bytes; {calls} calls; per call:");
        foreach (var (name, (time, bytes)) in stages)
        {
            Console.WriteLine($"  {name,-45} {time.TotalMilliseconds * 1000 / calls,9:F1} us {bytes / calls / 1024.0,9:F1} KB");
        }
    }
}
