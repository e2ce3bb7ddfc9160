using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KetamineCds.Benchmarks;

/// <summary>
/// One order-sign evaluation with a 100-resource prefetch (~90 KB), against the same bytes merely parsed with
/// System.Text.Json.JsonDocument: the ratio is what the clinical work costs over reading the payload at all.
/// </summary>
[MemoryDiagnoser]
public class HookBenchmarks
{
    private byte[] _payload = [];
    private HookPipeline _pipeline = null!;
    private CdsService _service = null!;

    /// <summary>
    /// Assessment Observations: not validated; validated every time (a chart seen for the first time); or validated with
    /// the result cache (the production default: a chart's unchanged Observations on its next hook call).
    /// </summary>
    [Params("off", "on-uncached", "on-cached")]
    public string Validation { get; set; } = "off";

    /// <summary>
    /// "realistic": a pain-clinic chart (30 MedicationRequests, 10 MedicationStatements, 60 Observations of vitals, labs,
    /// PHQ-9 and MME, as the load harness sends); "filler": patient 13 with copies of non-target statements and QIDS-SR
    /// Observations (the earlier benchmark, kept for comparison).
    /// </summary>
    [Params("realistic", "filler")]
    public string Chart { get; set; } = "realistic";

    [GlobalSetup]
    public void Setup()
    {
        _payload = Chart == "realistic" ? KetamineCds.LoadHarness.RealisticChart.Build(100) : PayloadBuilder.Build(100);
        var settings = new Dictionary<string, string?>
        {
            ["KetamineCds:ValidateAssessments"] = (Validation != "off").ToString(),
            ["KetamineCds:ValidationResultCacheSize"] = Validation == "on-cached" ? "10000" : "0",
        };
        var services = WarmCore.Start(settings);
        _pipeline = services.GetRequiredService<HookPipeline>();
        _service = CdsServiceCatalog.Find("ketamine-order-sign")!;
        var warm = Evaluate();
        Console.WriteLine($"payload {_payload.Length} bytes, {warm} cards, validation {Validation}");
    }

    [Benchmark(Baseline = true)]
    public int ParseOnly()
    {
        using var doc = JsonDocument.Parse(_payload);
        return doc.RootElement.GetProperty("prefetch").GetProperty("medicationStatements").GetProperty("entry").GetArrayLength();
    }

    [Benchmark]
    public int OrderSignEvaluation()
    {
        using var doc = JsonDocument.Parse(_payload);
        var outcome = _pipeline.RunAsync(_service, doc.RootElement, CancellationToken.None).GetAwaiter().GetResult();
        var bytes = JsonSerializer.SerializeToUtf8Bytes(outcome.Response, CdsJson.Options);
        return bytes.Length;
    }

    private int Evaluate()
    {
        using var doc = JsonDocument.Parse(_payload);
        return _pipeline.RunAsync(_service, doc.RootElement, CancellationToken.None).GetAwaiter().GetResult().Response!.Cards.Count;
    }
}

/// <summary>Builds a realistic order-sign request: Table 2 patient 13 plus filler medications and survey observations.</summary>
public static class PayloadBuilder
{
    public static byte[] Build(int resources)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "scenarios", "table2", "patient-13", "request.json");
        var request = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var statements = request["prefetch"]!["medicationStatements"]!["entry"]!.AsArray();
        var observations = request["prefetch"]!["observations"]!["entry"]!.AsArray();
        var template = statements[0]!.DeepClone();
        var names = new[] { "sertraline 100 mg tablet", "bupropion XL 300 mg", "aripiprazole 5 mg", "trazodone 50 mg", "gabapentin 300 mg", "levothyroxine 75 mcg" };
        var i = 0;
        while (statements.Count + observations.Count < resources)
        {
            i++;
            if (i % 4 == 0)
            {
                var obs = observations[0]!.DeepClone();
                obs["resource"]!["id"] = $"obs-fill-{i}";
                obs["resource"]!["valueInteger"] = 5 + (i % 20);
                obs["resource"]!["effectiveDateTime"] = new DateTime(2021, 7, 1).AddDays(i).ToString("yyyy-MM-dd'T'09:00:00'Z'");
                observations.Add(obs);
                continue;
            }

            var entry = template.DeepClone();
            var resource = entry["resource"]!.AsObject();
            resource["id"] = $"ms-fill-{i}";
            resource["medicationCodeableConcept"] = new JsonObject { ["text"] = names[i % names.Length] };
            resource["note"] = new JsonArray(new JsonObject { ["text"] = "Patient reports taking as prescribed; reviewed at visit. " + new string('.', 400) });
            entry["fullUrl"] = $"https://ehr.example.org/fhir/MedicationStatement/ms-fill-{i}";
            statements.Add(entry);
        }

        request["prefetch"]!["medicationStatements"]!["total"] = statements.Count;
        request["prefetch"]!["observations"]!["total"] = observations.Count;
        return JsonSerializer.SerializeToUtf8Bytes(request);
    }
}
