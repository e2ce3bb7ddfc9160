using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using KetamineCds.Api.Tests.Support;
using KetamineCds.Clinical.Medications;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Facts;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The hook service keeps what reading a medication entry's exact bytes gave (MedicationRead, ADR-15), so the same
/// chart sent again is not deserialized again. That is only sound if a kept read gathers exactly what a fresh read
/// does: the same facts in the same order, the same skipped and read-with-errors counts. Checked on every scenario and
/// on mutated ones (other patients' entries, odd shapes, duplicated names), each gathered without keeping, then kept
/// (first read), then kept again (from what was kept).
/// </summary>
public sealed class MedicationReadTests
{
    private static PatientDataGatherer Gatherer(bool keep)
    {
        var sp = InProcessCore.Services;
        return new PatientDataGatherer(null, sp.GetRequiredService<ResourceScreen>(), sp.GetRequiredService<AssessmentExtractor>(),
            sp.GetRequiredService<MedicationClassifier>(), AssessmentScreen.For(sp.GetRequiredService<AssessmentReader>()), keep);
    }

    private static readonly PatientDataGatherer Fresh = Gatherer(keep: false);
    private static readonly PatientDataGatherer Keeping = Gatherer(keep: true);

    /// <summary>Everything the gatherer gave, as text.</summary>
    private static async Task<string> GatheredAsync(PatientDataGatherer gatherer, byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return "not JSON";
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("prefetch", out var prefetch) || prefetch.ValueKind != JsonValueKind.Object)
            {
                return "no prefetch";
            }

            var patient = root.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object
                && context.TryGetProperty("patientId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : "unknown";
            var keys = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in prefetch.EnumerateObject())
            {
                keys[property.Name] = property.Value;
            }

            JsonElement? draftOrders = context.ValueKind == JsonValueKind.Object && context.TryGetProperty("draftOrders", out var orders) ? orders : null;
            var gathered = await gatherer.GatherAsync(new GatherRequest(patient, keys, draftOrders, null, null), CancellationToken.None);
            return $"{gathered.SkippedResources} skipped, {gathered.ReadWithErrors} with errors, missing {string.Join(",", gathered.MissingKeys)} | " +
                   JsonSerializer.Serialize(gathered.Data?.Medications) + " | drafts " + JsonSerializer.Serialize(gathered.Data?.DraftOrders) + " | " + gathered.Observations.Count;
        }
    }

    [Fact]
    public async Task Every_scenario_gathers_the_same_facts_read_fresh_kept_and_from_what_was_kept()
    {
        var compared = 0;
        foreach (var (name, body) in PrefetchSplitTests.Requests())
        {
            var fresh = await GatheredAsync(Fresh, body);
            var first = await GatheredAsync(Keeping, body);
            var again = await GatheredAsync(Keeping, body);
            Assert.True(fresh == first && first == again, $"{name}\nfresh: {fresh}\nfirst: {first}\nagain: {again}");
            Assert.Contains("\"Reference\"", fresh, StringComparison.Ordinal);
            compared++;
        }

        Assert.True(compared >= 40, $"only {compared} scenario requests");
        Assert.True(MedicationRead.Count > 0, "nothing was kept");
    }

    [Fact]
    public void Mutated_requests_gather_the_same_facts_read_fresh_kept_and_from_what_was_kept()
    {
        var requests = PrefetchSplitTests.Requests().Select(r => JsonNode.Parse(r.Body)!.ToJsonString()).ToArray();
        // Also: another patient's entry, a medicationReference to an included Medication, and a subject that is not a reference.
        (string, string)[] more =
        [
            ("\"subject\":{\"reference\":\"Patient/", "\"subject\":{\"reference\":\"Patient/other-"),
            ("\"subject\":{", "\"subject\":[1],\"x\":{"),
            ("\"medicationCodeableConcept\":", "\"medicationReference\":{\"reference\":\"#m\"},\"contained\":[{\"resourceType\":\"Medication\",\"id\":\"m\",\"code\":{\"text\":\"Lorazepam 1 mg tablet\"}}],\"y\":"),
            ("\"medicationCodeableConcept\":", "\"medicationReference\":{\"reference\":\"Medication/med-1\"},\"y\":"),
            ("\"status\":\"active\"", "\"status\":\"activ\""),
            ("\"status\":\"active\"", "\"status\":7"),
            ("\"draftOrders\":{", "\"draftOrders\":{\"entry\":[{\"resource\":{\"resourceType\":\"MedicationRequest\",\"id\":\"d2\",\"status\":\"draft\",\"intent\":\"order\",\"medicationCodeableConcept\":{\"text\":\"ketamine 0.5 mg/kg IV\"},\"subject\":{\"reference\":\"Patient/x\"}}}],"),
        ];
        var mutations = PrefetchSplitTests.Mutations.Concat(more).ToArray();
        Gen.Select(Gen.Int[0, requests.Length - 1], Gen.Select(Gen.Int[0, mutations.Length - 1], Gen.Bool).Array[1, 3]).Sample((file, chosen) =>
        {
            var json = requests[file];
            foreach (var (index, all) in chosen)
            {
                var (find, replace) = mutations[index];
                json = all ? json.Replace(find, replace, StringComparison.Ordinal) : ReplaceFirst(json, find, replace);
            }

            var body = Encoding.UTF8.GetBytes(json);
            var fresh = GatheredAsync(Fresh, body).GetAwaiter().GetResult();
            var first = GatheredAsync(Keeping, body).GetAwaiter().GetResult();
            var again = GatheredAsync(Keeping, body).GetAwaiter().GetResult();
            return fresh == first && first == again;
        }, iter: 400, threads: 1);
    }

    private static string ReplaceFirst(string json, string find, string replace)
    {
        var at = json.IndexOf(find, StringComparison.Ordinal);
        return at < 0 ? json : string.Concat(json.AsSpan(0, at), replace, json.AsSpan(at + find.Length));
    }
}
