using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using KetamineCds.Api.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Benchmarks;

/// <summary>
/// What a signed hook call costs the service, in process (issue 8 item 1, "measure the JWT's cost separately"):
/// <list type="bullet">
/// <item><see cref="SignedCallAdmission"/>: the exact path of a signed request up to the hook handler: a request scope,
/// JwtBearer's handler with our TokenValidationParameters and <see cref="CdsJwtBearerEvents"/> (pre-flight: alg, iss,
/// kid, jku, crit; key resolution through <see cref="JwksCache"/> and the registry; signature, issuer, audience set,
/// lifetime; then exact aud, iat, lifetime cap, jti), then <see cref="CdsAdmissionMiddleware"/> (per-issuer rate limit,
/// jti replay-store write).</item>
/// <item><see cref="TokenHandlerOnly"/>: JsonWebTokenHandler.ValidateTokenAsync with the same parameters, no events.</item>
/// <item><see cref="ParseOnly"/>: one JsonWebToken parse; <see cref="ScaffoldingOnly"/>: the benchmark's request scope and
/// context without any JWT work, to subtract from <see cref="SignedCallAdmission"/>.</item>
/// <item><see cref="Es384VerifyOnly"/> (baseline): ECDsa.VerifyData over the same signing input with a cached ECDsa: the
/// part no implementation can avoid.</item>
/// </list>
/// Each token is used once, as a CDS client signs every call (fresh jti): a pool of distinct tokens, and a fresh replay
/// store every iteration, so every call takes the accepting path. Run:
/// <c>dotnet run -c Release --project tests/KetamineCds.Benchmarks -- jwt</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessConfig))]
public class JwtBenchmarks
{
    private const int TokenPool = 2048;
    private const string PublicBaseUrl = "https://cds.bench.invalid";
    private const string Issuer = "https://ehr.bench.invalid/cds-client";
    private const string ServicePath = "/cds-services/ketamine-order-sign";

    private readonly ECDsa signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private string[] authorizationHeaders = [];
    private string[] tokens = [];
    private int next;
    private WebApplication app = null!;
    private IServiceScopeFactory scopes = null!;
    private CdsAdmissionMiddleware admission = null!;
    private JsonWebTokenHandler tokenHandler = null!;
    private TokenValidationParameters parameters = null!;
    private Endpoint endpoint = null!;
    private ECDsa verifyingKey = null!;
    private byte[] signingInput = [];
    private byte[] signature = [];

    [GlobalSetup]
    public void Setup()
    {
        var p = signingKey.ExportParameters(false);
        var jwk = $$"""{"kty":"EC","kid":"bench-es384","use":"sig","crv":"P-384","x":"{{Base64UrlEncoder.Encode(p.Q.X!)}}","y":"{{Base64UrlEncoder.Encode(p.Q.Y!)}}"}""";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KetamineCds:Security:PublicBaseUrl"] = PublicBaseUrl,
            ["KetamineCds:Security:Clients:0:Issuer"] = Issuer,
            ["KetamineCds:Security:Clients:0:Keys:0"] = jwk,
            // The limiter's work is measured, never its refusal.
            ["KetamineCds:Security:RateLimit:PermitLimit"] = "1000000000",
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddCdsClientAuthentication(builder.Configuration, builder.Environment);
        app = builder.Build();
        scopes = app.Services.GetRequiredService<IServiceScopeFactory>();
        endpoint = new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(CdsRateLimitedMetadata.Instance), "order-sign");
        parameters = app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(CdsSecurity.Scheme).TokenValidationParameters;
        tokenHandler = new JsonWebTokenHandler { MapInboundClaims = false };

        var signer = new ECDsaSecurityKey(signingKey) { KeyId = "bench-es384" };
        var creator = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var now = DateTime.UtcNow;
        tokens = [.. Enumerable.Range(0, TokenPool).Select(_ => creator.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = PublicBaseUrl + ServicePath,
            IssuedAt = now,
            Expires = now.AddMinutes(5),
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString())]),
            SigningCredentials = new SigningCredentials(signer, SecurityAlgorithms.EcdsaSha384),
        }))];
        // (each token's lifetime is 5 minutes, as a CDS client signs; a run of all three methods takes about 2.)
        authorizationHeaders = [.. tokens.Select(t => "Bearer " + t)];

        var parts = tokens[0].Split('.');
        signingInput = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        verifyingKey = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP384, Q = p.Q });

        // The key object the token handler verifies with, and whether its signature provider is reused between calls.
        var resolved = parameters.IssuerSigningKeyResolver(tokens[0], new JsonWebToken(tokens[0]), "bench-es384", parameters).Single();
        var factory = resolved.CryptoProviderFactory ?? CryptoProviderFactory.Default;
        var first = factory.CreateForVerifying(resolved, SecurityAlgorithms.EcdsaSha384);
        var second = factory.CreateForVerifying(resolved, SecurityAlgorithms.EcdsaSha384);
        Console.WriteLine($"// resolved key: {resolved.GetType().Name}; provider cache on: {factory.CacheSignatureProviders}; same provider twice: {ReferenceEquals(first, second)}");
        factory.ReleaseSignatureProvider(first);
        factory.ReleaseSignatureProvider(second);

        ResetReplayStore();
        // Every measured path must accept: a benchmark of the refusal path would measure the wrong thing.
        if (SignedCallAdmission().GetAwaiter().GetResult() != StatusCodes.Status200OK
            || !TokenHandlerOnly().GetAwaiter().GetResult() || !Es384VerifyOnly())
        {
            throw new InvalidOperationException("a benchmarked path refused a valid token");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        signingKey.Dispose();
        verifyingKey.Dispose();
    }

    [IterationSetup(Target = nameof(SignedCallAdmission))]
    public void ResetReplayStore()
    {
        next = 0;
        admission = new CdsAdmissionMiddleware(
            _ => Task.CompletedTask,
            app.Services.GetRequiredService<IIssuerRateLimiter>(),
            new InMemoryJtiReplayStore(TimeProvider.System),
            NullLogger<CdsJwtBearerEvents>.Instance,
            NullLogger<CdsAdmissionMiddleware>.Instance);
    }

    [Benchmark(Baseline = true)]
    public bool Es384VerifyOnly() => verifyingKey.VerifyData(signingInput, signature, HashAlgorithmName.SHA384);

    [Benchmark]
    public async Task<bool> TokenHandlerOnly()
    {
        var result = await tokenHandler.ValidateTokenAsync(tokens[next++ % TokenPool], parameters);
        return result.IsValid;
    }

    /// <summary>One parse of the token (what reading it a second time costs).</summary>
    [Benchmark]
    public string ParseOnly() => new JsonWebToken(tokens[next++ % TokenPool]).Id;

    /// <summary>The benchmark's own scaffolding of <see cref="SignedCallAdmission"/> (scope, context, header), no JWT work: subtract it.</summary>
    [Benchmark]
    public async Task<int> ScaffoldingOnly()
    {
        await using var scope = scopes.CreateAsyncScope();
        return NewSignedRequest(scope).Response.StatusCode;
    }

    [Benchmark]
    public async Task<int> SignedCallAdmission()
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = NewSignedRequest(scope);
        var result = await context.AuthenticateAsync(CdsSecurity.Scheme);
        if (!result.Succeeded)
        {
            return StatusCodes.Status401Unauthorized;
        }

        context.User = result.Principal;
        await admission.InvokeAsync(context);
        return context.Response.StatusCode;
    }

    /// <summary>A POST to the order-sign endpoint carrying the next unused token, as routing leaves it for the auth middleware.</summary>
    private DefaultHttpContext NewSignedRequest(AsyncServiceScope scope)
    {
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = ServicePath;
        context.Request.Headers.Authorization = authorizationHeaders[next++ % TokenPool];
        context.SetEndpoint(endpoint);
        return context;
    }

    /// <summary>
    /// In process (so a build kept aside can be run against the current one in the same session), each iteration one
    /// pass over the token pool.
    /// </summary>
    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() =>
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2)
                .WithIterationCount(15).WithInvocationCount(TokenPool).WithUnrollFactor(1));
    }
}
