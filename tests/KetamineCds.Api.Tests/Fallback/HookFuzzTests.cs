using System.Text;
using System.Text.Json.Nodes;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>
/// Seeded random mutations of the Table 2 requests (deleted, duplicated and retyped fields, truncations, deep nesting,
/// huge strings, wrong types, hostile fhirServer values, prefetch removed so the fallback runs) posted to the service:
/// no answer is a 5xx, and the service is healthy afterwards. A failure prints the seed and the mutated body.
/// </summary>
[Collection(FallbackHostCollection.Name)]
public sealed class HookFuzzTests(FallbackHostFixture host)
{
    private const int Requests = 5000;
    private const int Seed = 20230811;

    private static readonly string[] HostileServers =
    [
        "http://10.0.0.5/fhir", "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/", "file:///etc/passwd",
        "https://localhost/fhir", "javascript:alert(1)", "https://user:pw@ehr.hospital.example/fhir", "ftp://x/", "", "https://",
        "https://ehr.hospital.example/fhir", "http://[::1]:1/fhir", "https://0.0.0.0/fhir", "https://2130706433/fhir",
    ];

    [Fact]
    public async Task Five_thousand_mutated_hook_requests_never_get_a_5xx_and_the_service_stays_healthy()
    {
        var ehr = host.Lease(Table2.Ehr(1));
        var bases = Enumerable.Range(1, 13).Select(p => Table2.Request(p).ToJsonString()).ToArray();
        var random = new Random(Seed);
        var bodies = new List<string>(Requests);
        for (var i = 0; i < Requests; i++)
        {
            bodies.Add(Mutate(random, bases[random.Next(bases.Length)], ehr.BaseUrl));
        }

        var statuses = new int[Requests];
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(bodies.Select(async (body, i) =>
        {
            await gate.WaitAsync();
            try
            {
                statuses[i] = (await host.PostRawAsync(body)).Status;
            }
            finally
            {
                gate.Release();
            }
        }));

        var failures = statuses.Select((s, i) => (Status: s, Index: i)).Where(x => x.Status >= 500).ToList();
        Assert.True(failures.Count == 0,
            $"{failures.Count} answers were 5xx (seed {Seed}); first: request {failures.FirstOrDefault().Index}: " +
            $"{(failures.Count > 0 ? bodies[failures[0].Index][..Math.Min(2000, bodies[failures[0].Index].Length)] : "")}{Environment.NewLine}{string.Join(Environment.NewLine, host.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Distinct().Take(10))}");
        // The mutations must reach past the parser: some requests still answer cards, some 412, many 400.
        Assert.Contains(200, statuses);
        Assert.Contains(400, statuses);
        Assert.Contains(403, statuses);

        using var health = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal("ok", await health.Content.ReadAsStringAsync());
    }

    /// <summary>The structural mutations, shared with the signed byte-level fuzzer (Hardening/SignedByteFuzzTests).</summary>
    internal static string Mutate(Random random, string json, Uri ehr)
    {
        var text = json;
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations; m++)
        {
            text = random.Next(12) switch
            {
                0 => text[..random.Next(text.Length)], // truncation
                1 => DuplicateProperty(random, text),
                2 => text.Insert(1, $"\"{(random.Next(2) == 0 ? "context" : "nested")}\": {Deep(random.Next(10, 200))}, "),
                3 => InsertGarbage(random, text),
                _ => TryMutateTree(random, text, ehr),
            };
        }

        return text;
    }

    private static string TryMutateTree(Random random, string text, Uri ehr)
    {
        try
        {
            return MutateTree(random, text, ehr, _ => RandomValue(random));
        }
        catch (ArgumentException)
        {
            return text; // a duplicated property (from an earlier mutation) cannot be held by JsonObject
        }
    }

    /// <summary>Replaces or deletes a random node of the tree (or sets a hostile fhirServer, or drops prefetch).</summary>
    private static string MutateTree(Random random, string text, Uri ehr, Func<JsonNode?, JsonNode?> replacement)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return text;
        }

        if (root is not JsonObject rootObject)
        {
            return text;
        }

        switch (random.Next(6))
        {
            case 0:
                rootObject.Remove("prefetch");
                rootObject["fhirServer"] = random.Next(4) == 0 ? null : ehr.ToString();
                rootObject["fhirAuthorization"] = new JsonObject { ["access_token"] = "t", ["token_type"] = "Bearer" };
                return rootObject.ToJsonString();
            case 1:
                rootObject["fhirServer"] = HostileServers[random.Next(HostileServers.Length)];
                return rootObject.ToJsonString();
        }

        var nodes = new List<JsonNode>();
        Collect(rootObject, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var parent = target.Parent;
        if (parent is JsonObject obj)
        {
            var name = target.GetPropertyName();
            if (random.Next(3) == 0)
            {
                obj.Remove(name);
            }
            else
            {
                obj[name] = replacement(target);
            }
        }
        else if (parent is JsonArray array)
        {
            var index = target.GetElementIndex();
            if (random.Next(3) == 0)
            {
                array.RemoveAt(index);
            }
            else
            {
                array[index] = replacement(target);
            }
        }

        return rootObject.ToJsonString();
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        if (node.Parent is not null)
        {
            nodes.Add(node);
        }

        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
        }
    }

    private static JsonNode? RandomValue(Random random)
    {
        return random.Next(14) switch
        {
            0 => null,
            1 => JsonValue.Create(0),
            2 => JsonValue.Create(-1.5e308),
            3 => JsonValue.Create(true),
            4 => JsonValue.Create(""),
            5 => JsonValue.Create(new string('A', random.Next(1, 300_000))),
            6 => new JsonArray(),
            7 => new JsonObject(),
            8 => new JsonObject { ["resourceType"] = "Bundle", ["entry"] = new JsonArray(JsonValue.Create(1), null, new JsonObject()) },
            9 => JsonValue.Create("Patient/other-patient"),
            10 => JsonValue.Create("\u0000\uFFFF\uD800"[..2] + "é漢字"),
            11 => JsonValue.Create(long.MaxValue),
            12 => new JsonObject { ["resourceType"] = "MedicationStatement", ["status"] = 7, ["dosage"] = "daily" },
            _ => JsonValue.Create("2021-13-45T99:99:99Z"),
        };
    }

    private static string Deep(int depth) => new StringBuilder().Append('[', depth).Append(']', depth).ToString();

    private static string DuplicateProperty(Random random, string text)
    {
        var at = text.IndexOf("\"hook\"", StringComparison.Ordinal);
        return random.Next(2) == 0 && at >= 0
            ? text.Insert(at, "\"hook\": 12, ")
            : text.Insert(1, "\"prefetch\": {\"medicationStatements\": null}, ");
    }

    private static string InsertGarbage(Random random, string text)
    {
        var at = random.Next(text.Length);
        var garbage = new[] { "\u0000", "}", "]", ",", "\"", "\\u12", "NaN", "\uFEFF", "/*x*/" }[random.Next(9)];
        return text.Insert(at, garbage);
    }
}
