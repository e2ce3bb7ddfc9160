using System.Net;
using System.Security.Cryptography;
using System.Text;
using KetamineCds.Api.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Tests.Security;

/// <summary>
/// Issue 8 item 1 (the signed call's cost): the cheaper paths (cached key objects per kid, one token parse, the crit
/// fast path, the replay store's own count, the lock-free rate limiter) refuse exactly what the service refused before.
/// </summary>
public sealed class SignedCallCostTests
{
    private const string Service = "ketamine-order-sign";
    private static readonly string Audience = TestTokens.Audience(Service);

    [Fact]
    public async Task An_EHR_that_rotates_its_JWKS_key_is_served_on_the_first_call_with_the_new_kid_and_the_withdrawn_key_is_refused()
    {
        var ehr = new TestTokens("https://ehr-rotating.test.invalid/cds-client");
        await using var jwks = await JwksServer.StartAsync();
        jwks.Serve(TestTokens.JwksJson(ehr.EcKey));
        using var host = new SecurityTestHost(SecurityTestHost.Settings(ehr.ClientSettings(0, jwksUrl: jwks.Url, inlineKeys: false)));

        // Many calls on the cached key: one fetch, and the resolver hands out the same key object every time.
        for (var i = 0; i < 3; i++)
        {
            using var response = await host.CallAsync(Service, ehr.For(Service));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(1, jwks.Hits);
        var cache = host.Services.GetRequiredService<JwksCache>();
        var client = host.Services.GetRequiredService<ITrustedClientRegistry>().Find(ehr.Issuer)!;
        var first = Assert.Single(cache.KeysFor(client, ehr.EcKey.KeyId));
        Assert.Same(first, Assert.Single(cache.KeysFor(client, ehr.EcKey.KeyId)));

        var rotated = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = ehr.Issuer + "#2027" };
        jwks.Serve(TestTokens.JwksJson(rotated));
        using (var response = await host.CallAsync(Service, ehr.Sign(Audience, rotated)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(2, jwks.Hits);
        Assert.Empty(cache.KeysFor(client, ehr.EcKey.KeyId));
        using (var response = await host.CallAsync(Service, ehr.For(Service)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(AuthFailureReasons.UnknownKid, host.Logs.LastRefusalReason());
    }

    [Fact]
    public async Task A_token_whose_kid_the_EHR_never_published_is_refused_and_resolves_no_key()
    {
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings()));
        var stranger = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "never-published" };

        using var response = await host.CallAsync(Service, TestTokens.Default.Sign(Audience, stranger));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(AuthFailureReasons.UnknownKid, host.Logs.LastRefusalReason());
        var client = host.Services.GetRequiredService<ITrustedClientRegistry>().Find(TestTokens.Default.Issuer)!;
        Assert.Empty(host.Services.GetRequiredService<JwksCache>().KeysFor(client, "never-published"));
        Assert.Empty(host.Services.GetRequiredService<JwksCache>().KeysFor(client, null));
    }

    [Fact]
    public async Task A_crit_header_spelled_with_a_JSON_escape_is_still_refused()
    {
        // "\u0063rit" is "crit": the fast path compares member names unescaped, so it cannot be slipped past.
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings()));
        var header = $$"""{"alg":"ES384","kid":"{{TestTokens.Default.EcKey.KeyId}}","typ":"JWT","\u0063rit":["urn:example:policy"],"urn:example:policy":"on"}""";

        using var response = await host.CallAsync(Service, HandSigned(header, TestTokens.Default));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(AuthFailureReasons.CritNotUnderstood, host.Logs.LastRefusalReason());
    }

    [Fact]
    public async Task A_hand_built_token_without_crit_signed_by_the_EHR_is_accepted()
    {
        // The control for the test above: the same construction, no crit, passes.
        using var host = new SecurityTestHost(SecurityTestHost.Settings(TestTokens.Default.ClientSettings()));
        var header = $$"""{"alg":"ES384","kid":"{{TestTokens.Default.EcKey.KeyId}}","typ":"JWT"}""";

        using var response = await host.CallAsync(Service, HandSigned(header, TestTokens.Default));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"alg":"ES384","kid":"k"}""", null)]
    [InlineData("""{"alg":"ES384","kid":"k","x":{"crit":["nested-is-not-a-header"]}}""", null)]
    [InlineData("""{"alg":"ES384","\u0063rit":["urn:x"],"urn:x":1}""", AuthFailureReasons.CritNotUnderstood)]
    [InlineData("""{"alg":"ES384","crit":["urn:x"],"urn:x":1}""", AuthFailureReasons.CritNotUnderstood)]
    [InlineData("""{"alg":"ES384","crit":"urn:x","urn:x":1}""", AuthFailureReasons.CritInvalid)]
    [InlineData("""{"alg":"ES384","crit":["urn:x","urn:x"],"urn:x":1}""", AuthFailureReasons.CritNotUnderstood)]
    [InlineData("""{"alg":"ES384","crit":["urn:absent"]}""", AuthFailureReasons.CritInvalid)]
    [InlineData("""{"alg":"ES384","kid":"k"} trailing""", AuthFailureReasons.Malformed)]
    public void The_crit_check_decides_every_header_as_the_full_parse_does(string header, string? expected)
    {
        Assert.Equal(expected, CdsJwtBearerEvents.CriticalHeaderProblem(TestTokens.Segment(header)));
    }

    [Fact]
    public void A_crit_in_a_header_too_large_for_the_fast_path_is_still_refused()
    {
        var header = $$"""{"alg":"ES384","pad":"{{new string('x', 2000)}}","crit":["urn:x"],"urn:x":1}""";
        Assert.Equal(AuthFailureReasons.CritNotUnderstood, CdsJwtBearerEvents.CriticalHeaderProblem(TestTokens.Segment(header)));
    }

    [Fact]
    public async Task The_token_handler_validates_the_string_it_is_given_never_a_parse_held_for_another()
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = TestTokens.Default.Issuer,
            ValidAudience = Audience,
            IssuerSigningKey = TestTokens.Default.EcKey,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha384],
        };
        var handler = new PreparsedTokenHandler { MapInboundClaims = false };
        var genuine = TestTokens.Default.For(Service);
        var parts = genuine.Split('.');
        var tampered = $"{parts[0]}.{TestTokens.Segment($$"""{"iss":"{{TestTokens.Default.Issuer}}","aud":"{{Audience}}","exp":4102444800}""")}.{parts[2]}";

        // A held parse of the genuine token must not stand in for a different (tampered) string.
        PreparsedTokenHandler.Hold(genuine, new JsonWebToken(genuine));
        var refused = await handler.ValidateTokenAsync(tampered, parameters);
        Assert.False(refused.IsValid);
        Assert.IsType<SecurityTokenInvalidSignatureException>(refused.Exception);

        // The matching string reuses the held parse (the same object comes back) and validates it in full.
        var parsed = new JsonWebToken(genuine);
        PreparsedTokenHandler.Hold(genuine, parsed);
        var accepted = await handler.ValidateTokenAsync(genuine, parameters);
        Assert.True(accepted.IsValid);
        Assert.Same(parsed, accepted.SecurityToken);

        // Used once: the same string again is parsed afresh, and still validated.
        var again = await handler.ValidateTokenAsync(genuine, parameters);
        Assert.True(again.IsValid);
        Assert.NotSame(parsed, again.SecurityToken);

        // An expired token held for its own string is refused: reuse skips the parse, never a check.
        var expired = TestTokens.Default.Sign(Audience, issuedAt: DateTime.UtcNow.AddHours(-2), expires: DateTime.UtcNow.AddHours(-1));
        PreparsedTokenHandler.Hold(expired, new JsonWebToken(expired));
        var late = await handler.ValidateTokenAsync(expired, parameters);
        Assert.False(late.IsValid);
        Assert.IsType<SecurityTokenExpiredException>(late.Exception);
    }

    [Fact]
    public async Task A_replayed_jti_is_refused_until_it_expires_and_swept_entries_leave_the_count()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new InMemoryJtiReplayStore(clock);
        var expires = clock.GetUtcNow().AddMinutes(5);

        Assert.True(await store.TryRememberAsync("https://ehr.example", "jti-1", expires, default));
        Assert.False(await store.TryRememberAsync("https://ehr.example", "jti-1", expires, default));
        Assert.True(await store.TryRememberAsync("https://other-ehr.example", "jti-1", expires, default));
        Assert.Equal(2, store.Count);

        // Past expiry plus the sweep interval: both entries are swept on the next call, which is counted alone.
        clock.Advance(TimeSpan.FromMinutes(7));
        Assert.True(await store.TryRememberAsync("https://ehr.example", "jti-2", clock.GetUtcNow().AddMinutes(5), default));
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task Concurrent_calls_with_one_jti_admit_exactly_one_and_the_count_stays_exact()
    {
        var store = new InMemoryJtiReplayStore(TimeProvider.System);
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);
        for (var round = 0; round < 50; round++)
        {
            var jti = "jti-" + round;
            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.TryRememberAsync("iss", jti, expires, default).AsTask())));
            Assert.Single(results, admitted => admitted);
        }

        Assert.Equal(50, store.Count);
    }

    [Fact]
    public async Task An_issuer_over_its_window_is_refused_with_a_retry_interval_while_another_issuer_is_admitted()
    {
        var options = Options.Create(new CdsSecurityOptions { RateLimit = new RateLimitOptions { PermitLimit = 3, WindowSeconds = 60 } });
        using var limiter = new InMemoryIssuerRateLimiter(options);

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await limiter.AcquireAsync("https://ehr-a.example", default)).Allowed);
        }

        var refused = await limiter.AcquireAsync("https://ehr-a.example", default);
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(60));
        Assert.True((await limiter.AcquireAsync("https://ehr-b.example", default)).Allowed);
    }

    /// <summary>A token with a header written by hand (exact bytes), signed ES384 with the EHR's key.</summary>
    private static string HandSigned(string headerJson, TestTokens ehr)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = $$"""{"iss":"{{ehr.Issuer}}","aud":"{{Audience}}","iat":{{now}},"exp":{{now + 300}},"jti":"{{Guid.NewGuid()}}"}""";
        var signingInput = TestTokens.Segment(headerJson) + "." + TestTokens.Segment(payload);
        var signature = ehr.EcKey.ECDsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA384);
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }
}
