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
