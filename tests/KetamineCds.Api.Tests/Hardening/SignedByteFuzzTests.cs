using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using CsCheck;
using KetamineCds.Api.Tests.Fallback;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The byte-level fuzzer (issue 8 item 3): CsCheck generates cases from the 13 real Table 2 requests, each mutated in its
/// JSON structure (the mutations of <see cref="HookFuzzTests"/>) or in its raw bytes (bit flips, truncation, invalid
/// UTF-8 such as Latin-1 "é", overlong encodings and encoded surrogates, escaped lone surrogates, NUL, huge numbers, deep
/// nesting, a BOM, UTF-16), or sent without prefetch to a FHIR server on 127.0.0.1 whose searchset Bundles are mutated the
/// same way. Every case carries its own freshly signed ES384 token, so it passes authentication and reaches the parser,
/// and goes through the real pipeline (authentication, admission, audit, handler). The bar: no 5xx, ever, and every
/// refusal is an OperationOutcome.
/// <para>
/// 20,000 cases in CI; <c>KETAMINECDS_FUZZ_CASES=200000</c> for a soak. A failure prints CsCheck's seed and the case
/// (base patient, mutation, its own seed): <c>KETAMINECDS_FUZZ_SEED=&lt;seed&gt;</c> replays exactly that run.
/// </para>
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SignedByteFuzzTests : IAsyncLifetime
{
    private static readonly byte[][] InvalidUtf8 =
    [
        [0xE9], // Latin-1 "é", as an EHR on the wrong code page sends it
        [0xC0, 0x80], // overlong NUL
        [0xC1, 0xBF], // overlong
        [0xE0, 0x80, 0xAF], // overlong "/"
        [0xF0, 0x80, 0x80, 0xAF], // overlong "/", 4 bytes
        [0xED, 0xA0, 0x80], // an encoded surrogate (CESU-8)
        [0xF4, 0x90, 0x80, 0x80], // beyond U+10FFFF
        [0xFF], [0xFE], [0x80], [0xBF], // never valid; lone continuation bytes
        [0xE2, 0x82], // a truncated sequence
        [0xF8, 0x88, 0x80, 0x80, 0x80], // a 5-byte form
    ];

    private static readonly string[] BadEscapes =
        ["\\ud800", "\\udc00", "\\udfff\\ud800", "\\ud800\\u0041", "\\ud83d", "\\u0000", "\\u0000\\u0000", "\\uDBFF"];

    private static readonly string[] HugeNumbers =
        ["1e999999", "-1e999999", "123456789012345678901234567890123456789", "1.7976931348623157e309", "-0", "0.0000000000000000000000000001", "4.9e-325"];

    private static readonly string[] ServiceIds = ["ketamine-order-sign", "ketamine-order-select", "ketamine-patient-view"];

    private readonly ConcurrentDictionary<string, byte[][]> fhirReplies = new(StringComparer.Ordinal);
    private ScriptedHttpServer ehr = null!;
    private SecurityTestHost host = null!;
    private HttpClient client = null!;
    private byte[][] requests = [];
    private string[] requestTexts = [];
    private byte[][][] bundles = [];

    public enum Target
    {
        RequestBytes,
        RequestStructure,
        FhirServerResponse,
        Feedback,
    }

    /// <summary>One generated case: everything needed to rebuild it, printed on failure.</summary>
    public sealed record FuzzCase(int Patient, Target Target, int Mutation, int Seed)
    {
        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"patient-{Patient:00} target={Target} mutation={Mutation} seed={Seed}");
    }

    public async Task InitializeAsync()
    {
        ehr = new ScriptedHttpServer(Reply);
        host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings(), new Dictionary<string, string?>
        {
            // Thousands of calls from one issuer: the rate limit has its own tests.
            ["KetamineCds:Security:RateLimit:PermitLimit"] = "100000000",
            ["KetamineCds:FhirFallback:AllowHttpLoopback"] = "true",
            ["KetamineCds:FhirServers:0:BaseUrl"] = ehr.BaseUrl.ToString(),
            ["KetamineCds:FhirFallback:DeadlineMilliseconds"] = "3000",
            ["KetamineCds:FhirFallback:AttemptTimeoutMilliseconds"] = "1500",
            // The console would print every line of 20,000 calls; the capturing provider still sees them all.
            ["Logging:Console:LogLevel:Default"] = "None",
        }));
        client = host.CreateClient();
        requestTexts = [.. Enumerable.Range(1, 13).Select(p => Table2.Request(p).ToJsonString())];
        requests = [.. requestTexts.Select(Encoding.UTF8.GetBytes)];
        bundles = [.. Enumerable.Range(1, 13).Select(p => new[] { "MedicationStatement", "MedicationRequest", "Observation" }
            .Select(t => Encoding.UTF8.GetBytes(Table2.SearchBundle(p, t))).ToArray())];
        using var warm = await PostAsync("ketamine-order-sign", requests[0]);
        Assert.Equal(200, (int)warm.StatusCode);
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        host.Dispose();
        await ehr.DisposeAsync();
    }

    [Fact]
    public async Task Twenty_thousand_signed_requests_mutated_in_bytes_and_structure_never_get_a_5xx_and_every_refusal_is_an_OperationOutcome()
    {
        var cases = int.TryParse(Environment.GetEnvironmentVariable("KETAMINECDS_FUZZ_CASES"), CultureInfo.InvariantCulture, out var n) ? n : 20_000;
        var seed = Environment.GetEnvironmentVariable("KETAMINECDS_FUZZ_SEED") is { Length: > 0 } s ? s : null;
        var statuses = new ConcurrentDictionary<int, int>();
        var generator =
            from patient in Gen.Int[1, 13]
            from target in Gen.Int[0, 19].Select(t => t switch { < 9 => Target.RequestBytes, < 14 => Target.RequestStructure, < 18 => Target.FhirServerResponse, _ => Target.Feedback })
            from mutation in Gen.Int[0, 11]
            from caseSeed in Gen.Int
            select new FuzzCase(patient, target, mutation, caseSeed);

        string? summary = null;
        await generator.SampleAsync(async fuzzCase =>
            {
                var (status, body) = await RunAsync(fuzzCase);
                statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
                if (status >= 500)
                {
                    throw new InvalidOperationException($"{fuzzCase} answered {status}: {body[..Math.Min(400, body.Length)]}{Environment.NewLine}{ErrorLogs()}");
                }

                if (status >= 400 && status != 499 && !body.Contains("\"resourceType\":\"OperationOutcome\"", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{fuzzCase} answered {status} without an OperationOutcome: {body[..Math.Min(400, body.Length)]}");
                }
            },
            writeLine: line => summary = line,
            seed: seed,
            iter: cases,
            threads: 4,
            print: c => c.ToString());

        // The mutations must reach past the parser: some cases still answer cards, many are refused.
        Assert.True(statuses.ContainsKey(200), Distribution(statuses));
        Assert.True(statuses.ContainsKey(400), Distribution(statuses));
        Assert.Equal(cases, statuses.Values.Sum());
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal("ok", await health.Content.ReadAsStringAsync());
        Console.WriteLine($"fuzz: {cases} cases, {Distribution(statuses)}; {summary}");
    }

    private static string Distribution(ConcurrentDictionary<int, int> statuses) =>
        string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"));

    private string ErrorLogs() =>
        string.Join(Environment.NewLine, host.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => e.All).Distinct().Take(5));

    private async Task<(int Status, string Body)> RunAsync(FuzzCase fuzzCase)
    {
        var random = new Random(fuzzCase.Seed);
        var service = ServiceIds[random.Next(ServiceIds.Length)];
        byte[] body;
        var path = service;
        switch (fuzzCase.Target)
        {
            case Target.RequestStructure:
                body = Encoding.UTF8.GetBytes(HookFuzzTests.Mutate(random, requestTexts[fuzzCase.Patient - 1], ehr.BaseUrl));
                service = "ketamine-order-sign";
                path = service;
                break;
            case Target.FhirServerResponse:
                {
                    // The request names the FHIR server; the case's own access token tells the server which mutated Bundles to send.
                    var token = $"case-{fuzzCase.Seed}-{Guid.NewGuid():N}";
                    fhirReplies[token] = [.. bundles[fuzzCase.Patient - 1].Select(b => MutateBytes(random, b, fuzzCase.Mutation))];
                    body = Encoding.UTF8.GetBytes(Table2.WithoutPrefetch(fuzzCase.Patient, ehr.BaseUrl, token).ToJsonString());
                    service = "ketamine-order-sign";
                    path = service;
                    break;
                }

            case Target.Feedback:
                path = service + "/feedback";
                body = MutateBytes(random, Encoding.UTF8.GetBytes(
                    $$"""{"feedback":[{"card":"{{Guid.NewGuid()}}","outcome":"overridden","overrideReason":{"reason":{"code":"not-applicable","system":"http://ketaminecds.org/fhir/CodeSystem/ketamine-cds-override-reason"},"userComment":"Patient seen by pharmacist é"},"outcomeTimestamp":"2026-12-01T08:00:00Z"}]}"""),
                    fuzzCase.Mutation);
                break;
            default:
                body = MutateBytes(random, requests[fuzzCase.Patient - 1], fuzzCase.Mutation);
                break;
        }

        using var response = await PostAsync(path, body);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/" + path, UriKind.Relative));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Default.Sign(TestTokens.Audience(path)));
        return await client.SendAsync(request);
    }

    private ScriptedReply Reply(RecordedRequest request)
    {
        var token = request.Authorization?["Bearer ".Length..] ?? "";
        if (!fhirReplies.TryGetValue(token, out var replies))
        {
            return ScriptedReply.Error(404);
        }

        var index = request.Path.Split('/').Last() switch { "MedicationStatement" => 0, "MedicationRequest" => 1, _ => 2 };
        return new ScriptedReply(200, replies[index]);
    }

    /// <summary>One raw-byte mutation (the case's <paramref name="kind"/>), placed by the case's own random source.</summary>
    internal static byte[] MutateBytes(Random random, byte[] original, int kind)
    {
        if (original.Length < 4)
        {
            // An earlier truncation left almost nothing: send it as it is, or with one byte appended.
            return random.Next(2) == 0 ? original : [.. original, (byte)random.Next(256)];
        }

        var bytes = new List<byte>(original);
        switch (kind)
        {
            case 0: // bit flips
                for (var i = random.Next(1, 8); i > 0; i--)
                {
                    var at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 1: // truncation
                return [.. original.AsSpan(0, random.Next(original.Length))];
            case 2: // invalid UTF-8 inside a string value
            case 3:
                for (var i = random.Next(1, 3); i > 0; i--)
                {
                    bytes.InsertRange(InsideString(random, bytes), InvalidUtf8[random.Next(InvalidUtf8.Length)]);
                }

                break;
            case 4: // escaped lone surrogates and NUL inside a string value (valid JSON, invalid text)
                bytes.InsertRange(InsideString(random, bytes), Encoding.ASCII.GetBytes(BadEscapes[random.Next(BadEscapes.Length)]));
                break;
            case 5: // a raw NUL or control byte inside a string
                bytes.Insert(InsideString(random, bytes), (byte)random.Next(0, 32));
                break;
            case 6: // invalid UTF-8 in a property name
                bytes.InsertRange(InsidePropertyName(random, bytes), InvalidUtf8[random.Next(InvalidUtf8.Length)]);
                break;
            case 7: // a huge or odd number in place of a number
                ReplaceNumber(random, bytes);
                break;
            case 8: // deep nesting
                {
                    var depth = random.Next(10, 5000);
                    var nested = "\"deep\":" + new string('[', depth) + new string(']', depth) + ",";
                    bytes.InsertRange(1, Encoding.ASCII.GetBytes(nested));
                    break;
                }

            case 9: // a byte order mark, or the whole body in UTF-16
                return random.Next(2) == 0 ? [0xEF, 0xBB, 0xBF, .. original] : Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(original));
            case 10: // random bytes spliced in anywhere
                {
                    var junk = new byte[random.Next(1, 16)];
                    random.NextBytes(junk);
                    bytes.InsertRange(random.Next(bytes.Count), junk);
                    break;
                }

            default: // several of the above
                var result = original;
                for (var i = random.Next(2, 4); i > 0; i--)
                {
                    result = MutateBytes(random, result, random.Next(0, 11));
                }

                return result;
        }

        return [.. bytes];
    }

    /// <summary>An offset just inside a string value (after the opening quote of a value), or anywhere if none is found.</summary>
    private static int InsideString(Random random, List<byte> bytes)
    {
        for (var tries = 0; tries < 50; tries++)
        {
            var at = random.Next(bytes.Count - 1);
            if (bytes[at] == (byte)'"' && at > 1 && (bytes[at - 1] == (byte)':' || bytes[at - 1] == (byte)' ' || bytes[at - 1] == (byte)'['))
            {
                return at + 1;
            }
        }

        return random.Next(bytes.Count);
    }

    private static int InsidePropertyName(Random random, List<byte> bytes)
    {
        for (var tries = 0; tries < 50; tries++)
        {
            var at = random.Next(bytes.Count - 1);
            if (bytes[at] == (byte)'"' && at > 0 && (bytes[at - 1] == (byte)'{' || bytes[at - 1] == (byte)','))
            {
                return at + 1;
            }
        }

        return random.Next(bytes.Count);
    }

    private static void ReplaceNumber(Random random, List<byte> bytes)
    {
        for (var tries = 0; tries < 200; tries++)
        {
            var at = random.Next(bytes.Count - 1);
            if (bytes[at] == (byte)':' && char.IsAsciiDigit((char)bytes[at + 1]))
            {
                var end = at + 1;
                while (end < bytes.Count && (char.IsAsciiDigit((char)bytes[end]) || bytes[end] is (byte)'.' or (byte)'-' or (byte)'e' or (byte)'E'))
                {
                    end++;
                }

                bytes.RemoveRange(at + 1, end - at - 1);
                bytes.InsertRange(at + 1, Encoding.ASCII.GetBytes(HugeNumbers[random.Next(HugeNumbers.Length)]));
                return;
            }
        }

        bytes.InsertRange(1, Encoding.ASCII.GetBytes($"\"n\":{HugeNumbers[random.Next(HugeNumbers.Length)]},"));
    }
}

/// <summary>
/// Tests that load the 2-core machine on purpose (thousands of calls, child processes) run alone, after the parallel
/// ones, so they neither starve other tests nor are starved themselves.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial-heavy";
}
