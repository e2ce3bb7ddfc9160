using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Tests.Security;

/// <summary>
/// The trusted issuers of the JWT matrix: A and B with inline keys, C with a rotating JWKS on a real 127.0.0.1 server,
/// D bound to a tenant, E with a static JWKS; plus an "attacker" JWKS server that must never be contacted.
/// </summary>
public sealed class JwtMatrixFixture : IAsyncLifetime
{
    public TestTokens A { get; } = TestTokens.Default;
    public TestTokens B { get; } = new("https://ehr-b.test.invalid/cds-client");
    public TestTokens C { get; } = new("https://ehr-c.test.invalid/cds-client");
    public TestTokens D { get; } = new("https://ehr-d.test.invalid/cds-client");
    public TestTokens E { get; } = new("https://ehr-e.test.invalid/cds-client");
    public JwksServer RotatingJwks { get; private set; } = null!;
    public JwksServer StaticJwks { get; private set; } = null!;
    public JwksServer AttackerJwks { get; private set; } = null!;
    public SecurityTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        RotatingJwks = await JwksServer.StartAsync();
        RotatingJwks.Serve(TestTokens.JwksJson(C.EcKey));
        StaticJwks = await JwksServer.StartAsync();
        StaticJwks.Serve(TestTokens.JwksJson(E.EcKey, E.RsaKey));
        AttackerJwks = await JwksServer.StartAsync();
        AttackerJwks.Serve(TestTokens.JwksJson(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "attacker" }));
        Host = new SecurityTestHost(SecurityTestHost.Settings(
            A.ClientSettings(0),
            B.ClientSettings(1),
            C.ClientSettings(2, jwksUrl: RotatingJwks.Url, inlineKeys: false),
            D.ClientSettings(3, tenants: "hospital-1"),
            E.ClientSettings(4, jwksUrl: StaticJwks.Url, inlineKeys: false)));
    }

    public async Task DisposeAsync()
    {
        Host.Dispose();
        await RotatingJwks.DisposeAsync();
        await StaticJwks.DisposeAsync();
        await AttackerJwks.DisposeAsync();
    }
}

public sealed class JwtMatrixTests(JwtMatrixFixture fixture) : IClassFixture<JwtMatrixFixture>
{
    private const string Service = "ketamine-order-sign";
    private static readonly string Audience = TestTokens.Audience(Service);

    private Task<HttpResponseMessage> Call(string? token) => fixture.Host.CallAsync(Service, token);

    private async Task AssertRefused(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        var body = await response.Content.ReadAsStringAsync();
        // The caller learns nothing about which check failed.
        Assert.DoesNotContain(reason, body);
        Assert.Contains("A valid CDS client JWT is required.", body);
        Assert.Equal(reason, fixture.Host.Logs.LastRefusalReason());
    }

    [Fact]
    public async Task Es384_token_from_a_trusted_issuer_is_accepted()
    {
        var response = await Call(fixture.A.For(Service));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Rs384_token_from_a_trusted_issuer_is_accepted()
    {
        var response = await Call(fixture.A.Sign(Audience, fixture.A.RsaKey, SecurityAlgorithms.RsaSha384));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_without_a_token_is_refused()
    {
        await AssertRefused(await Call(null), "missing-token");
    }

    [Fact]
    public async Task Garbage_token_is_refused_as_malformed()
    {
        await AssertRefused(await Call("not.a-jwt"), "malformed");
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_refused()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = TestTokens.Segment($$"""{"alg":"none","typ":"JWT","kid":"{{fixture.A.EcKey.KeyId}}"}""");
        var payload = TestTokens.Segment($$"""{"iss":"{{fixture.A.Issuer}}","aud":"{{Audience}}","iat":{{now}},"exp":{{now + 300}},"jti":"{{Guid.NewGuid()}}"}""");
        await AssertRefused(await Call($"{header}.{payload}."), "algorithm-not-allowed");
    }

    [Fact]
    public async Task Hs256_signed_with_the_issuers_public_key_as_secret_is_refused()
    {
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TestTokens.PublicJwkJson(fixture.A.EcKey))) { KeyId = fixture.A.EcKey.KeyId };
        await AssertRefused(await Call(fixture.A.Sign(Audience, secret, SecurityAlgorithms.HmacSha256)), "algorithm-not-allowed");
    }

    [Fact]
    public async Task Es256_token_is_refused_when_the_issuer_allows_ES384_and_RS384()
    {
        var p256 = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = fixture.A.EcKey.KeyId };
        await AssertRefused(await Call(fixture.A.Sign(Audience, p256, SecurityAlgorithms.EcdsaSha256)), "algorithm-not-allowed");
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        var issued = DateTime.UtcNow.AddMinutes(-20);
        await AssertRefused(await Call(fixture.A.Sign(Audience, issuedAt: issued, expires: issued.AddMinutes(10))), "expired");
    }

    [Fact]
    public async Task Token_not_yet_valid_is_refused()
    {
        var now = DateTime.UtcNow;
        await AssertRefused(await Call(fixture.A.Sign(Audience, issuedAt: now, notBefore: now.AddMinutes(10), expires: now.AddMinutes(14))), "not-yet-valid");
    }

    [Fact]
    public async Task Token_living_longer_than_the_maximum_lifetime_is_refused()
    {
        var now = DateTime.UtcNow;
        await AssertRefused(await Call(fixture.A.Sign(Audience, issuedAt: now, expires: now.AddMinutes(60))), "lifetime-too-long");
    }

    [Fact]
    public async Task Token_for_another_host_is_refused()
    {
        await AssertRefused(await Call(fixture.A.Sign("https://elsewhere.test.invalid/cds-services/ketamine-order-sign")), "audience");
    }

    [Fact]
    public async Task Token_for_another_endpoint_of_this_service_is_refused()
    {
        await AssertRefused(await Call(fixture.A.For("ketamine-order-select")), "audience");
    }

    [Fact]
    public async Task Token_from_an_unknown_issuer_is_refused()
    {
        var stranger = new TestTokens("https://stranger.test.invalid/cds-client");
        await AssertRefused(await Call(stranger.For(Service)), "unknown-issuer");
    }

    [Fact]
    public async Task Jku_that_is_not_the_registered_jwks_url_is_refused_and_never_fetched()
    {
        var token = fixture.E.Sign(Audience, extraHeaders: new Dictionary<string, object> { ["jku"] = fixture.AttackerJwks.Url });
        await AssertRefused(await Call(token), "jku-not-registered");
        Assert.Equal(0, fixture.AttackerJwks.Hits);
    }

    [Fact]
    public async Task Jku_equal_to_the_registered_jwks_url_is_accepted()
    {
        var token = fixture.E.Sign(Audience, extraHeaders: new Dictionary<string, object> { ["jku"] = fixture.StaticJwks.Url });
        Assert.Equal(HttpStatusCode.OK, (await Call(token)).StatusCode);
    }

    [Fact]
    public async Task Token_carrying_its_own_key_url_in_x5u_is_refused()
    {
        var token = fixture.A.Sign(Audience, extraHeaders: new Dictionary<string, object> { ["x5u"] = fixture.AttackerJwks.Url });
        await AssertRefused(await Call(token), "embedded-key-header");
        Assert.Equal(0, fixture.AttackerJwks.Hits);
    }

    [Fact]
    public async Task Unknown_kid_of_an_issuer_with_inline_keys_only_is_refused()
    {
        var other = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "not-registered" };
        await AssertRefused(await Call(fixture.A.Sign(Audience, other)), "unknown-kid");
    }

    [Fact]
    public async Task Rotated_key_is_accepted_after_an_awaited_jwks_refresh_and_refreshes_are_throttled()
    {
        var c = fixture.C;
        Assert.Equal(HttpStatusCode.OK, (await Call(c.For(Service))).StatusCode);
        var hitsAfterFirstFetch = fixture.RotatingJwks.Hits;
        Assert.True(hitsAfterFirstFetch >= 1);

        // The EHR rotates: its JWKS now holds only a new key. The first token with the new kid must already pass.
        var rotated = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = c.Issuer + "#rotated" };
        fixture.RotatingJwks.Serve(TestTokens.JwksJson(rotated));
        Assert.Equal(HttpStatusCode.OK, (await Call(c.Sign(Audience, rotated))).StatusCode);
        Assert.Equal(hitsAfterFirstFetch + 1, fixture.RotatingJwks.Hits);

        // Another unknown kid within the refresh interval: no second fetch, refused.
        var again = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = c.Issuer + "#again" };
        fixture.RotatingJwks.Serve(TestTokens.JwksJson(again));
        await AssertRefused(await Call(c.Sign(Audience, again)), "unknown-kid");
        Assert.Equal(hitsAfterFirstFetch + 1, fixture.RotatingJwks.Hits);
    }

    [Fact]
    public async Task Tampered_payload_is_refused()
    {
        var parts = fixture.A.For(Service).Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!;
        payload["tenant"] = "someone-else";
        var tampered = $"{parts[0]}.{TestTokens.Segment(payload.ToJsonString())}.{parts[2]}";
        await AssertRefused(await Call(tampered), "bad-signature");
    }

    [Fact]
    public async Task Replayed_token_is_refused_the_second_time()
    {
        var token = fixture.A.For(Service);
        Assert.Equal(HttpStatusCode.OK, (await Call(token)).StatusCode);
        await AssertRefused(await Call(token), "replayed-jti");
    }

    [Fact]
    public async Task Token_without_jti_is_refused()
    {
        await AssertRefused(await Call(fixture.A.Sign(Audience, includeJti: false)), "missing-jti");
    }

    [Fact]
    public async Task Issuer_A_token_signed_with_issuer_Bs_key_under_As_kid_is_refused()
    {
        var bKeyUnderAKid = new ECDsaSecurityKey(fixture.B.EcKey.ECDsa) { KeyId = fixture.A.EcKey.KeyId };
        await AssertRefused(await Call(fixture.A.Sign(Audience, bKeyUnderAKid)), "bad-signature");
    }

    [Fact]
    public async Task Issuer_A_token_signed_with_issuer_Bs_key_and_kid_is_refused()
    {
        await AssertRefused(await Call(fixture.A.Sign(Audience, fixture.B.EcKey)), "unknown-kid");
    }

    [Fact]
    public async Task Issuer_B_is_accepted_with_its_own_key()
    {
        Assert.Equal(HttpStatusCode.OK, (await Call(fixture.B.For(Service))).StatusCode);
    }

    [Fact]
    public async Task Tenant_bound_issuer_is_accepted_for_its_tenant_only()
    {
        Assert.Equal(HttpStatusCode.OK, (await Call(fixture.D.Sign(Audience, tenant: "hospital-1"))).StatusCode);
        await AssertRefused(await Call(fixture.D.Sign(Audience, tenant: "hospital-2")), "tenant");
        await AssertRefused(await Call(fixture.D.Sign(Audience)), "tenant");
    }

    [Fact]
    public async Task Discovery_is_anonymous_by_default()
    {
        using var client = fixture.Host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/cds-services")).StatusCode);
    }
}
