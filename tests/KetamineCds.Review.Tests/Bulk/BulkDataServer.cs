using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Review.Tests.Bulk;

/// <summary>
/// A FHIR Bulk Data Access (v2) server on 127.0.0.1 (free port), written for the tests since no package provides one:
/// SMART Backend Services token endpoint (client_credentials + private_key_jwt, the assertion's signature checked
/// against the client's registered JWKS, aud = the token URL, iss = sub, exp within 5 minutes, jti never reused),
/// kick-off (Prefer: respond-async, 202 + Content-Location), status (429 once, 202 + Retry-After + X-Progress, then
/// 200 manifest with requiresAccessToken), NDJSON file downloads with Range (206) support and a download that drops
/// mid-file, an error manifest, a refused kick-off and DELETE to cancel.
/// </summary>
public sealed class BulkDataServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonWebKeySet> _clients = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new();
    private readonly ConcurrentDictionary<string, byte> _usedJti = new();
    private readonly ConcurrentDictionary<int, Job> _jobs = new();
    private readonly ConcurrentDictionary<string, int> _dropsLeft = new();
    private int _nextJob;

    public BulkDataServer(IReadOnlyDictionary<string, byte[]> files)
    {
        Files = files;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        Map();
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Urls.First();
        Root = new Uri(address.TrimEnd('/') + "/");
        FhirBase = new Uri(Root, "fhir/");
    }

    public Uri Root { get; }
    public Uri FhirBase { get; }
    public IReadOnlyDictionary<string, byte[]> Files { get; }

    /// <summary>Polls answered 202 before the manifest.</summary>
    public int PollsBeforeDone { get; set; } = 2;
    public bool ThrottleFirstPoll { get; set; } = true;
    public ConcurrentQueue<string> Log { get; } = new();
    public int KickOffs => _kickOffs;
    private int _kickOffs;

    public void Register(string clientId, JsonWebKey publicKey) => _clients[clientId] = new JsonWebKeySet { Keys = { publicKey } };

    /// <summary>The next <paramref name="times"/> downloads of the file stop after half its bytes (the connection is aborted).</summary>
    public void DropMidFile(string name, int times = 1) => _dropsLeft[name] = times;

    public bool IsCancelled(int job) => _jobs.TryGetValue(job, out var j) && j.Cancelled;

    private sealed class Job
    {
        public required string Group { get; init; }
        public int Polls;
        public bool Cancelled;
    }

    private void Map()
    {
        _app.MapGet("/fhir/.well-known/smart-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["token_endpoint"] = new Uri(Root, "auth/token").ToString(),
            ["token_endpoint_auth_methods_supported"] = new[] { "private_key_jwt" },
            ["token_endpoint_auth_signing_alg_values_supported"] = new[] { "ES384", "RS384" },
            ["grant_types_supported"] = new[] { "client_credentials" },
            ["capabilities"] = new[] { "client-confidential-asymmetric" },
        }));

        _app.MapPost("/auth/token", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            if (form["grant_type"] != "client_credentials" || form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return Results.Json(new { error = "invalid_request" }, statusCode: 400);
            }

            var assertion = form["client_assertion"].ToString();
            var handler = new JsonWebTokenHandler();
            var unverified = handler.CanReadToken(assertion) ? handler.ReadJsonWebToken(assertion) : null;
            if (unverified is null || !_clients.TryGetValue(unverified.Issuer, out var jwks))
            {
                return Results.Json(new { error = "invalid_client", error_description = "unknown client" }, statusCode: 401);
            }

            var result = await handler.ValidateTokenAsync(assertion, new TokenValidationParameters
            {
                ValidIssuer = unverified.Issuer,
                ValidAudience = new Uri(Root, "auth/token").ToString(),
                IssuerSigningKeys = jwks.GetSigningKeys(),
                ValidAlgorithms = ["ES384", "RS384"],
                RequireExpirationTime = true,
                ClockSkew = TimeSpan.FromSeconds(30),
            });
            var token = result.SecurityToken as JsonWebToken;
            if (!result.IsValid || token is null || token.Subject != token.Issuer
                || token.ValidTo > DateTime.UtcNow.AddMinutes(5).AddSeconds(30) || !_usedJti.TryAdd(token.Id ?? "", 0) || string.IsNullOrEmpty(token.Id))
            {
                return Results.Json(new { error = "invalid_client", error_description = "client_assertion rejected" }, statusCode: 401);
            }

            var access = Guid.NewGuid().ToString("N");
            _tokens[access] = DateTimeOffset.UtcNow.AddMinutes(5);
            return Results.Json(new { access_token = access, token_type = "bearer", expires_in = 300, scope = form["scope"].ToString() });
        });

        _app.MapGet("/fhir/Group/{id}/$export", (HttpContext context, string id) => KickOff(context, id));
        _app.MapGet("/fhir/Patient/$export", (HttpContext context) => KickOff(context, "*"));

        _app.MapGet("/fhir/jobs/{n:int}", (HttpContext context, int n) =>
        {
            if (!Authorized(context))
            {
                return Outcome(401, "login", "a bearer token is required");
            }

            if (!_jobs.TryGetValue(n, out var job) || job.Cancelled)
            {
                return Outcome(404, "not-found", "no such export job");
            }

            var poll = Interlocked.Increment(ref job.Polls);
            if (ThrottleFirstPoll && poll == 1)
            {
                context.Response.Headers.RetryAfter = "1";
                return Outcome(429, "throttled", "polling too often");
            }

            if (poll <= PollsBeforeDone + (ThrottleFirstPoll ? 1 : 0))
            {
                context.Response.Headers.RetryAfter = "1";
                context.Response.Headers["X-Progress"] = $"{poll * 30}% complete";
                return Results.StatusCode(202);
            }

            var output = Files.Keys.Order(StringComparer.Ordinal).Select(name => new Dictionary<string, object>
            {
                ["type"] = name.Split('.')[0],
                ["url"] = new Uri(Root, "files/" + name).ToString(),
            }).ToList();
            var errors = job.Group == "partial"
                ? new[] { new Dictionary<string, object> { ["type"] = "OperationOutcome", ["url"] = new Uri(Root, "errors/1.ndjson").ToString() } }
                : [];
            return Results.Json(new Dictionary<string, object>
            {
                ["transactionTime"] = "2026-12-01T00:00:00Z",
                ["request"] = $"{FhirBase}Group/{job.Group}/$export",
                ["requiresAccessToken"] = true,
                ["output"] = output,
                ["error"] = errors,
            });
        });

        _app.MapDelete("/fhir/jobs/{n:int}", (HttpContext context, int n) =>
        {
            if (!Authorized(context))
            {
                return Outcome(401, "login", "a bearer token is required");
            }

            if (!_jobs.TryGetValue(n, out var job))
            {
                return Outcome(404, "not-found", "no such export job");
            }

            job.Cancelled = true;
            return Results.StatusCode(202);
        });

        _app.MapGet("/errors/1.ndjson", (HttpContext context) => Authorized(context)
            ? Results.Text("""{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Observation: 3 resources could not be exported (storage timeout)"}]}""" + "\n", "application/fhir+ndjson")
            : Outcome(401, "login", "a bearer token is required"));

        _app.MapGet("/files/{name}", async (HttpContext context, string name) =>
        {
            var range = context.Request.Headers.Range.ToString();
            Log.Enqueue($"GET {name} range={range}");
            if (!Authorized(context))
            {
                context.Response.StatusCode = 401;
                return;
            }

            if (!Files.TryGetValue(name, out var bytes))
            {
                context.Response.StatusCode = 404;
                return;
            }

            long from = 0;
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-')
                && long.TryParse(range[6..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            {
                if (start >= bytes.Length)
                {
                    context.Response.StatusCode = 416;
                    return;
                }

                from = start;
                context.Response.StatusCode = 206;
                context.Response.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
            }

            context.Response.ContentType = "application/fhir+ndjson";
            context.Response.Headers.AcceptRanges = "bytes";
            context.Response.ContentLength = bytes.Length - from;
            var drop = _dropsLeft.TryGetValue(name, out var left) && left > 0 && _dropsLeft.TryUpdate(name, left - 1, left);
            if (drop)
            {
                var half = (int)((bytes.Length - from) / 2);
                await context.Response.Body.WriteAsync(bytes.AsMemory((int)from, half));
                await context.Response.Body.FlushAsync();
                context.Abort();
                return;
            }

            await context.Response.Body.WriteAsync(bytes.AsMemory((int)from));
        });
    }

    private IResult KickOff(HttpContext context, string group)
    {
        if (!Authorized(context))
        {
            return Outcome(401, "login", "a bearer token is required");
        }

        if (context.Request.Headers["Prefer"] != "respond-async")
        {
            return Outcome(400, "invalid", "Prefer: respond-async is required");
        }

        if (group == "forbidden")
        {
            return Outcome(403, "forbidden", "this client may not export group forbidden");
        }

        Interlocked.Increment(ref _kickOffs);
        var n = Interlocked.Increment(ref _nextJob);
        _jobs[n] = new Job { Group = group };
        context.Response.Headers.ContentLocation = new Uri(FhirBase, $"jobs/{n}").ToString();
        return Results.StatusCode(202);
    }

    private bool Authorized(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            && _tokens.TryGetValue(header[7..], out var expires) && expires > DateTimeOffset.UtcNow;
    }

    private static IResult Outcome(int status, string code, string diagnostics) => Results.Json(
        new { resourceType = "OperationOutcome", issue = new[] { new { severity = "error", code, diagnostics } } },
        statusCode: status, contentType: "application/fhir+json");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
