using System.Diagnostics;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Infrastructure;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>
/// The clinical evaluation alone (<see cref="CdsEvaluator.Evaluate"/>) on the load harness's realistic chart: the
/// request is parsed and gathered once, then only the rules run, so the figure is what the clinical library costs per
/// order-sign (classification, daily doses, reconciliation, outcomes, the benzodiazepine and lamotrigine rules).
/// </summary>
[MemoryDiagnoser]
public class ClinicalBenchmarks
{
    private CdsEvaluator _evaluator = null!;
    private PatientData _data = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup() => (_evaluator, _data, _now) = ClinicalInput.Build();

    [Benchmark]
    public int EvaluateOrderSign() => _evaluator.Evaluate(HookKind.OrderSign, _data, _now).Findings.Count;
}

/// <summary>The harness chart gathered into <see cref="PatientData"/>, as the pipeline hands it to the rules.</summary>
public static class ClinicalInput
{
    public static (CdsEvaluator Evaluator, PatientData Data, DateTimeOffset Now) Build()
    {
        var payload = KetamineCds.LoadHarness.RealisticChart.Build(100);
        var services = WarmCore.Start();
        var service = CdsServiceCatalog.Find("ketamine-order-sign")!;
        using var doc = JsonDocument.Parse(payload);
        var request = HookRequestParser.Parse(doc.RootElement, service, out var error);
        if (error is not null)
        {
            throw new InvalidOperationException($"The harness chart was refused: {error.Message}");
        }

        var gathered = services.GetRequiredService<PatientDataGatherer>()
            .GatherAsync(new GatherRequest(request.PatientId, request.Prefetch, request.DraftOrders, request.Selections, request.Server), CancellationToken.None)
            .GetAwaiter().GetResult();
        var data = gathered.Data ?? throw new InvalidOperationException("The harness chart gathered no data.");
        return (services.GetRequiredService<CdsEvaluator>(), data, services.GetRequiredService<TimeProvider>().GetUtcNow());
    }

    /// <summary>
    /// <c>clinical [N]</c>: CPU time and bytes allocated per <see cref="CdsEvaluator.Evaluate"/> call, in this thread, after a
    /// warm-up of N calls (allocation is deterministic; time is the mean of N calls on a possibly busy machine).
    /// </summary>
    public static void Run(int calls)
    {
        var (evaluator, data, now) = Build();
        Console.WriteLine($"medications {data.Medications.Count}, draft orders {data.DraftOrders.Count}, scores {data.Assessments?.Scores.Count ?? 0}");
        for (var round = 0; round < 3; round++)
        {
            var findings = 0;
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++)
            {
                findings += evaluator.Evaluate(HookKind.OrderSign, data, now).Findings.Count;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - bytes;
            Console.WriteLine($"round {round}: {calls} calls, {findings / calls} findings; per call {elapsed.TotalMicroseconds / calls,8:F1} us wall, "
                + $"{cpuUsed.TotalMicroseconds / calls,8:F1} us CPU, {allocated / (double)calls,9:F0} bytes");
        }
    }
}
