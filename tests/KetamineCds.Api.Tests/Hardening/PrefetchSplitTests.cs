using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Tests.Support;
using KetamineCds.Fhir.Data;
using Microsoft.Extensions.DependencyInjection;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// A hook request is read in one pass that leaves the prefetch Bundles' entries in place (PrefetchSplitter) instead of
/// as one document (issue 8 item 1). That is only sound if every request means the same either way: the same cards
/// (every word and number), findings, unreadable counts and sources. Checked on every scenario, and on the scenarios
/// with their JSON names duplicated, reordered and escaped, where "the last occurrence wins" (as JsonElement reads)
/// is what a one-pass reader most easily gets wrong.
/// </summary>
public sealed class PrefetchSplitTests
{
    private static readonly Lazy<HookPipeline> Pipeline = new(() => InProcessCore.Services.GetRequiredService<HookPipeline>());

    internal static IEnumerable<(string Name, byte[] Body)> Requests() =>
        Directory.EnumerateFiles(ScenarioFiles.Root, "request*.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(ScenarioFiles.Root, f), File.ReadAllBytes(f)));

    /// <summary>The answer read whole, or read split; the cards' random uuids left out.</summary>
    private static async Task<string> AnswerAsync(byte[] body, bool split)
    {
        SplitRequest? parts;
        JsonDocument document;
        try
        {
            parts = split ? PrefetchSplitter.Split(body, 64) : null;
            document = JsonDocument.Parse(parts?.Envelope ?? body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return "not JSON";
        }

        using (parts)
        using (document)
        {
            var hook = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("hook", out var h) && h.ValueKind == JsonValueKind.String
                ? h.GetString()
                : null;
            var service = CdsServiceCatalog.All.FirstOrDefault(s => s.Descriptor.Hook == hook) ?? CdsServiceCatalog.Find("ketamine-order-sign")!;
            var outcome = await Pipeline.Value.RunAsync(service, document.RootElement, CancellationToken.None, null, parts?.Bundles);
            var cards = outcome.Response is null ? null : JsonNode.Parse(JsonSerializer.Serialize(outcome.Response, CdsJson.Options));
            foreach (var card in cards?["cards"]?.AsArray() ?? [])
            {
                card!.AsObject().Remove("uuid");
            }

            return $"{outcome.Error?.Status} {outcome.Error?.Message} | {string.Join(",", outcome.Findings)} | unreadable {outcome.UnreadableResources} | " +
                   $"{string.Join(",", outcome.Sources.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}:{s.Value}"))} | {cards?.ToJsonString()}";
        }
    }

    [Fact]
    public async Task Every_scenario_gets_the_same_answer_read_split_as_read_whole()
    {
        var compared = 0;
        foreach (var (name, body) in Requests())
        {
            var whole = await AnswerAsync(body, split: false);
            var split = await AnswerAsync(body, split: true);
            Assert.True(whole == split, $"{name}\nwhole: {whole}\nsplit: {split}");
            compared++;
        }

        Assert.True(compared >= 40, $"only {compared} scenario requests found");
    }

    [Fact]
    public void A_scenario_request_is_split_and_its_envelope_keeps_everything_but_the_entries()
    {
        var body = File.ReadAllBytes(Path.Combine(ScenarioFiles.Root, "table2", "patient-01", "request.json"));
        using var parts = PrefetchSplitter.Split(body, 64);
        Assert.NotNull(parts);
        using var whole = JsonDocument.Parse(body);
        using var envelope = JsonDocument.Parse(parts.Envelope);
        foreach (var key in whole.RootElement.GetProperty("prefetch").EnumerateObject())
        {
            if (key.Value.ValueKind == JsonValueKind.Object && key.Value.TryGetProperty("entry", out var entries))
            {
                Assert.Equal(entries.GetArrayLength(), parts.Bundles[key.Name].Entries.Count);
                Assert.Equal(0, envelope.RootElement.GetProperty("prefetch").GetProperty(key.Name).GetProperty("entry").GetArrayLength());
                var first = entries[0].GetProperty("resource");
                Assert.Equal(first.GetRawText(), Encoding.UTF8.GetString(parts.Bundles[key.Name].Entries[0].Resource.Span));
            }
        }

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(whole.RootElement.GetProperty("context").GetRawText()),
            JsonNode.Parse(envelope.RootElement.GetProperty("context").GetRawText())));
        Assert.True(parts.Envelope.Length < body.Length / 2, $"envelope {parts.Envelope.Length} of {body.Length} bytes");
    }

    /// <summary>Edits that keep the JSON valid but test "last wins", escapes and odd shapes; each applies to the first
    /// occurrence of its target, or to all of them.</summary>
    internal static readonly (string Find, string Replace)[] Mutations =
    [
        ("\"entry\":[", "\"entry\":[],\"entry\":["),
        ("\"entry\":[", "\"entry\":{\"not\":\"an array\"},\"entry\":["),
        ("\"entry\":[", "\"entry\":[{\"resource\":{\"resourceType\":\"MedicationStatement\",\"status\":\"active\",\"medicationCodeableConcept\":{\"text\":\"Lorazepam 2 mg tablet\"}}}],\"x\":{},\"entry\":["),
        ("\"entry\":[", "\"\\u0065ntry\":["),
        ("\"entry\":[", "\"entry\":[1,null,\"text\",[],{},{\"resource\":[]},{\"resource\":{}},"),
        ("\"resource\":{", "\"resource\":{\"resourceType\":\"Patient\"},\"resource\":{"),
        ("\"resource\":{", "\"r\\u0065source\":{"),
        ("\"resource\":{", "\"fullUrl\":\"urn:uuid:1\",\"resource\":{"),
        ("\"resourceType\":\"MedicationStatement\"", "\"resourceType\":\"Observation\",\"resourceType\":\"MedicationStatement\""),
        ("\"resourceType\":\"MedicationStatement\"", "\"resourceType\":\"MedicationStatement\",\"resourceType\":\"MedicationRequest\""),
        ("\"resourceType\":\"MedicationRequest\"", "\"resourceType\":\"Medication\\u0052equest\""),
        ("\"resourceType\":\"MedicationRequest\"", "\"resourceType\":\"MedicationRequest\",\"resourceType\":7"),
        ("\"resourceType\":\"Observation\"", "\"resourceType\":\"Observation\",\"resourceType\":\"MedicationStatement\""),
        ("\"resourceType\":\"Bundle\"", "\"resourceType\":\"Bundl\\u0065\""),
        ("\"resourceType\":\"Bundle\"", "\"resourceType\":\"Bundle\",\"resourceType\":\"Patient\""),
        ("\"resourceType\":\"Bundle\"", "\"resourceType\":\"Patient\",\"resourceType\":\"Bundle\""),
        ("\"medicationCodeableConcept\":", "\"medicationCodeableConcept\":{\"text\":\"lorazepam 1 mg tablet\"},\"medicationCodeableConcept\":"),
        ("\"medicationCodeableConcept\":", "\"medicationCodeableConcep\\u0074\":"),
        ("\"medicationCodeableConcept\":{", "\"medicationCodeableConcept\":{\"text\":\"\",\"coding\":[{\"display\":\"x\",\"display\":\" \"}],"),
        ("\"medicationCodeableConcept\":{", "\"medicationReference\":{\"reference\":\"Medication/m1\"},\"medicationCodeableConcept\":{"),
        ("\"text\":\"", "\"text\":\"clonazepam\",\"text\":\""),
        ("\"code\":{", "\"code\":{\"text\":\"QIDS-SR16 total\"},\"code\":{"),
        ("\"code\":{", "\"c\\u006fde\":{"),
        ("\"prefetch\":{", "\"prefetch\":{\"medicationStatements\":null},\"prefetch\":{"),
        ("\"prefetch\":{", "\"prefetch\":{\"medicationRequests\":{\"resourceType\":\"Bundle\",\"entry\":[]},"),
        ("\"medicationRequests\":", "\"medicationRequests\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"MedicationRequest\"}}]},\"medicationRequests\":"),
        ("\"medicationStatements\":{", "\"medicationStatements\":null,\"medicationStatements\":{"),
        ("\"observations\":{", "\"observations\":{\"resourceType\":\"Bundle\",\"link\":[{\"relation\":\"next\",\"url\":\"https://ehr.example.org/next\"}],"),
        ("\"hookInstance\":", "\"prefetch\":{},\"hookInstance\":"),
    ];

    internal static string Mutate(string json, IReadOnlyList<(int Mutation, bool All)> edits)
    {
        foreach (var (index, all) in edits)
        {
            var (find, replace) = Mutations[index];
            if (all)
            {
                json = json.Replace(find, replace, StringComparison.Ordinal);
            }
            else
            {
                var at = json.IndexOf(find, StringComparison.Ordinal);
                if (at >= 0)
                {
                    json = string.Concat(json.AsSpan(0, at), replace, json.AsSpan(at + find.Length));
                }
            }
        }

        return json;
    }

    [Fact]
    public async Task Requests_with_duplicated_reordered_and_escaped_names_get_the_same_answer_read_split_as_read_whole()
    {
        // Compact JSON, so the edits' patterns (no space after the colon) match every scenario.
        var requests = Requests().Select(r => (r.Name, Json: JsonNode.Parse(r.Body)!.ToJsonString())).ToArray();
        var edits = Gen.Select(Gen.Int[0, Mutations.Length - 1], Gen.Bool).Array[1, 4];
        var tried = 0;
        Gen.Select(Gen.Int[0, requests.Length - 1], edits).Sample((file, chosen) =>
        {
            var (name, json) = requests[file];
            var body = Encoding.UTF8.GetBytes(Mutate(json, chosen));
            var whole = AnswerAsync(body, split: false).GetAwaiter().GetResult();
            var split = AnswerAsync(body, split: true).GetAwaiter().GetResult();
            Interlocked.Increment(ref tried);
            return whole == split;
        }, iter: 600, threads: 1, print: t => $"{requests[t.Item1].Name} with {string.Join("; ", t.Item2.Select(e => $"{Mutations[e.Item1].Replace}{(e.Item2 ? " (all)" : "")}"))}");

        Assert.Equal(600, tried);
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[1,2]")]
    [InlineData("{\"prefetch\":{\"a\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{}}]}}} trailing")]
    [InlineData("{\"prefetch\":{\"a\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{}},]}}}")]
    [InlineData("{\"prefetch\":{\"a\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"x\":[[[[[[[[[[1]]]]]]]]]]}}]}}}")]
    [InlineData("\uFEFF{\"prefetch\":{}}")]
    [InlineData("{\"prefetch\":{\"a\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"a\":1}}]}}} // comment")]
    public void The_split_refuses_exactly_the_bodies_the_document_parse_refuses(string text)
    {
        var body = Encoding.UTF8.GetBytes(text);
        static string Verdict(Action parse)
        {
            try
            {
                parse();
                return "parsed";
            }
            catch (JsonException ex)
            {
                return ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase) ? "too deep" : "not JSON";
            }
        }

        var whole = Verdict(() => JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 }).Dispose());
        var split = Verdict(() =>
        {
            using var parts = PrefetchSplitter.Split(body, 8);
            JsonDocument.Parse(parts?.Envelope ?? body, new JsonDocumentOptions { MaxDepth = 8 }).Dispose();
        });
        Assert.Equal(whole, split);
    }

    [Fact]
    public void Names_read_from_bytes_agree_with_names_read_from_the_document()
    {
        string[] concepts =
        [
            "{\"text\":\"Lorazepam\"}", "{\"text\":\" \"}", "{\"text\":\"\",\"text\":\"x\"}", "{\"text\":\"x\",\"text\":\"\"}",
            "{\"coding\":[{\"display\":\"x\"}]}", "{\"coding\":[{\"display\":\"x\",\"display\":\"\"}]}", "{\"coding\":[{\"code\":\"1\"},{\"display\":\"y\"}]}",
            "{\"coding\":[{\"display\":\"x\"}],\"coding\":[]}", "{\"coding\":{\"display\":\"x\"}}", "{\"text\":5}", "{\"text\":{\"a\":\"b\"}}",
            "[]", "\"text\"", "{\"coding\":[null,1,\"a\",{\"display\":7}]}", "{\"t\\u0065xt\":\"x\"}", "{\"coding\":[{\"displ\\u0061y\":\"x\"}]}",
        ];
        foreach (var concept in concepts)
        {
            using var document = JsonDocument.Parse("{\"medicationCodeableConcept\":" + concept + ",\"status\":\"active\",\"resourceType\":\"MedicationStatement\"}");
            var fromDocument = ScreenVerdict(document.RootElement);
            var body = Encoding.UTF8.GetBytes("{\"prefetch\":{\"k\":{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" + document.RootElement.GetRawText() + "}]}}}");
            using var parts = PrefetchSplitter.Split(body, 64)!;
            var fromBytes = Screen.MayBeRelevant(parts.Bundles["k"].Entries[0]);
            Assert.True(fromDocument == fromBytes, concept);
        }
    }

    private static readonly ResourceScreen Screen = new(["zzz-never"], ["medicationCodeableConcept", "contained"], medications: true);

    private static bool ScreenVerdict(JsonElement resource) => Screen.MayBeRelevant(resource);
}
