using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using KetamineCds.Api.Tests.Security;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>
/// Two real service processes (Production environment, configured by environment variables as in docs/deploy/) on one
/// real Redis, called by one client as a load balancer would spread an EHR's calls: a token accepted by instance A is
/// refused by instance B, and the per-issuer rate limit is one count across both.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class TwoInstanceTests(RedisServer redis)
{
    private const int PermitLimit = 10;

    [Fact]
    public async Task A_token_used_on_one_instance_is_refused_on_the_other_and_the_rate_limit_is_shared()
    {
        var environment = Environment(redis.Configuration, $"two-instance-{Guid.NewGuid():N}:");
        await using var a = await ServiceProcess.StartAsync(environment);
        await using var b = await ServiceProcess.StartAsync(environment);
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var body = await File.ReadAllTextAsync(SecurityTestHost.ScenarioPath("patient-13"));

        var token = TestTokens.Default.For("ketamine-order-sign");
        using var first = await PostAsync(clientA, body, token);
        using var replayed = await PostAsync(clientB, body, token);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.Contains(b.Output, line => line.Contains("reason=replayed-jti", StringComparison.Ordinal));

        // Two calls so far; eight more, alternating, fill the shared window of ten; the next on either instance is 429.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < PermitLimit - 2; i++)
        {
            using var response = await PostAsync(i % 2 == 0 ? clientA : clientB, body, TestTokens.Default.For("ketamine-order-sign"));
            statuses.Add(response.StatusCode);
        }

        using var overA = await PostAsync(clientA, body, TestTokens.Default.For("ketamine-order-sign"));
        using var overB = await PostAsync(clientB, body, TestTokens.Default.For("ketamine-order-sign"));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, overA.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, overB.StatusCode);
        Assert.NotNull(overB.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_SMART_app_session_kept_in_Redis_by_one_instance_is_served_by_the_others()
    {
        var prefix = $"two-instance-{Guid.NewGuid():N}:";
        var environment = Environment(redis.Configuration, prefix);
        await using var a = await ServiceProcess.StartAsync(environment);
        await using var b = await ServiceProcess.StartAsync(environment);
        // The session as the instance that finished the sign-in stored it (the same store class, on the same Redis and prefix).
        using var connection = redis.Connect(prefix);
        var store = new KetamineCds.Api.Security.RedisSmartSessionStore(connection, TimeProvider.System);
        var id = SmartSessionStoreContract.NewSecret();
        // Its EHR is not registered with these instances, so a found session ends at the FHIR read (503 fhir-unavailable);
        // a session not found would be 401 session-expired.
        await store.SaveSessionAsync(new KetamineCds.SmartApp.Session.SmartSession(id, "unregistered-ehr", new Uri("https://ehr.invalid/fhir"),
            "https://ehr.invalid/token", "access", null, "patient-1", "launch", null, DateTimeOffset.UtcNow.AddMinutes(5), DateTimeOffset.UtcNow.AddMinutes(5)), CancellationToken.None);

        var onA = await PatientPageAsync(a, id);
        var onB = await PatientPageAsync(b, id);
        var unknownOnB = await PatientPageAsync(b, id + "x");

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "fhir-unavailable"), onA);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "fhir-unavailable"), onB);
        Assert.Equal((HttpStatusCode.Unauthorized, "session-expired"), unknownOnB);
    }

    [Fact]
    public async Task With_Redis_unreachable_the_app_answers_a_plain_503_page_not_a_500()
    {
        var environment = Environment($"127.0.0.1:{LoopbackPort.Free()}", $"unreachable-{Guid.NewGuid():N}:");
        environment["KetamineCds__Redis__OperationTimeoutMilliseconds"] = "200";
        await using var service = await ServiceProcess.StartAsync(environment);

        var page = await PatientPageAsync(service, "some-session-id");

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "session-store-unavailable"), page);
    }

    /// <summary>GET /app/patient with the session cookie: the status and the error page's problem code (null when none).</summary>
    private static async Task<(HttpStatusCode Status, string? Problem)> PatientPageAsync(ServiceProcess service, string sessionId)
    {
        using var client = service.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/app/patient", UriKind.Relative));
        request.Headers.Add("Cookie", $"kcds-session={sessionId}");
        using var response = await client.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();
        var problem = System.Text.RegularExpressions.Regex.Match(html, "data-problem=\"([a-z-]+)\"");
        return (response.StatusCode, problem.Success ? problem.Groups[1].Value : null);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/ketamine-order-sign", UriKind.Relative))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    /// <summary>What a deployment sets (docs/deploy/): the trusted EHR, the public URL, the audit key, Redis.</summary>
    internal static Dictionary<string, string> Environment(string redisConfiguration, string keyPrefix, int permitLimit = PermitLimit)
    {
        var settings = new Dictionary<string, string>
        {
            ["KetamineCds__Security__PublicBaseUrl"] = TestTokens.PublicBaseUrl,
            ["KetamineCds__Security__Audit__PatientIdHashKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["KetamineCds__Security__RateLimit__PermitLimit"] = permitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KetamineCds__Security__RateLimit__WindowSeconds"] = "600",
            ["KetamineCds__Redis__Configuration"] = redisConfiguration,
            ["KetamineCds__Redis__KeyPrefix"] = keyPrefix,
            ["Logging__Console__FormatterName"] = "simple",
        };
        foreach (var (key, value) in TestTokens.Default.ClientSettings())
        {
            settings[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        return settings;
    }
}
