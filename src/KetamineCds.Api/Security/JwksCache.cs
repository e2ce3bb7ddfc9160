using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>
/// Signing keys per trusted issuer: its inline keys plus its JWKS, fetched only from its registered URL.
/// <para>
/// Why not <c>ConfigurationManager&lt;JsonWebKeySet&gt;</c>: its <c>RequestRefresh()</c> refreshes in the background in
/// IdentityModel 8.x (blocking only behind a process-wide AppContext switch), so the very request that carries a newly
/// rotated <c>kid</c> would still fail. Here a refresh for an unknown <c>kid</c> is awaited, single-flight per issuer, and
/// throttled (<see cref="CdsSecurityOptions.JwksRefreshMinIntervalSeconds"/>), so a flood of made-up kids costs at most one
/// fetch per interval, and only to the issuer's own registered URL.
/// </para>
/// </summary>
public sealed partial class JwksCache(
    IHttpClientFactory httpClientFactory,
    IOptions<CdsSecurityOptions> options,
    TimeProvider time,
    ILogger<JwksCache> logger)
{
    public const string HttpClientName = "KetamineCds.Jwks";

    /// <summary>A JWKS larger than this is refused (a real one is a few KB).</summary>
    public const int MaxJwksBytes = 256 * 1024;

    private readonly ConcurrentDictionary<string, IssuerKeys> issuers = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<TrustedClient, FrozenDictionary<string, SecurityKey[]>> inlineIndexes = [];

    /// <summary>Outcome of making sure a kid's key is at hand.</summary>
    public enum KeyLookup
    {
        Found,
        UnknownKid,
        JwksUnavailable,
    }

    /// <summary>
    /// Makes sure the key named <paramref name="kid"/> is in the cache for <paramref name="client"/>, fetching the
    /// registered JWKS (awaited) when the cache is empty or stale, or once per interval when the kid is unknown.
    /// A key already cached answers synchronously, without allocating (the per-call path of every signed request).
    /// </summary>
    public ValueTask<KeyLookup> EnsureKeyAsync(TrustedClient client, string kid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (InlineIndex(client).ContainsKey(kid))
        {
            return ValueTask.FromResult(KeyLookup.Found);
        }

        if (client.JwksUrl is null)
        {
            return ValueTask.FromResult(KeyLookup.UnknownKid);
        }

        var state = issuers.GetOrAdd(client.Issuer, static _ => new IssuerKeys());
        var snapshot = state.Keys;
        if (snapshot is not null && !IsStale(snapshot, time.GetUtcNow()) && snapshot.ByKid.ContainsKey(kid))
        {
            return ValueTask.FromResult(KeyLookup.Found);
        }

        return new ValueTask<KeyLookup>(RefreshAsync(client, client.JwksUrl, state, kid, cancellationToken));
    }

    private async Task<KeyLookup> RefreshAsync(TrustedClient client, Uri jwksUrl, IssuerKeys state, string kid, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            // Another request may have fetched while this one waited.
            var now = time.GetUtcNow();
            var snapshot = state.Keys;
            var stale = snapshot is null || IsStale(snapshot, now);
            if (!stale && snapshot!.ByKid.ContainsKey(kid))
            {
                return KeyLookup.Found;
            }

            if (!stale && now - state.LastForcedRefresh < TimeSpan.FromSeconds(settings.JwksRefreshMinIntervalSeconds))
            {
                Log.RefreshThrottled(logger, client.Issuer);
                return KeyLookup.UnknownKid;
            }

            if (!stale)
            {
                state.LastForcedRefresh = now;
            }

            var fetched = await FetchAsync(jwksUrl, cancellationToken);
            if (fetched is null)
            {
                // Keep serving the keys we had: an EHR's JWKS outage must not lock out keys we already trust.
                return snapshot?.ByKid.ContainsKey(kid) == true ? KeyLookup.Found : KeyLookup.JwksUnavailable;
            }

            // Published whole, so a reader sees the old set or the new one, never a mix. A kid the new set no longer
            // lists is gone from here on: a key the EHR withdrew is not trusted a moment longer.
            state.Keys = new KeySnapshot(Index(fetched), now);
            Log.JwksFetched(logger, client.Issuer, fetched.Count);
            return state.Keys.ByKid.ContainsKey(kid) ? KeyLookup.Found : KeyLookup.UnknownKid;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// The keys currently trusted for <paramref name="client"/> with this kid (no I/O, no allocation: used by the key
    /// resolver on every call). The same key objects every time, so IdentityModel's signature-provider cache (keyed by
    /// the key's thumbprint) keeps one verifier per key and the key material is imported once, not per call.
    /// </summary>
    public IReadOnlyList<SecurityKey> KeysFor(TrustedClient client, string? kid)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (kid is null)
        {
            return [];
        }

        var inline = InlineIndex(client).GetValueOrDefault(kid);
        var fetched = issuers.TryGetValue(client.Issuer, out var state) ? state.Keys?.ByKid.GetValueOrDefault(kid) : null;
        return (inline, fetched) switch
        {
            (null, null) => [],
            (_, null) => inline,
            (null, _) => fetched,
            _ => [.. inline, .. fetched],
        };
    }

    private bool IsStale(KeySnapshot snapshot, DateTimeOffset now) =>
        now - snapshot.FetchedAt > TimeSpan.FromSeconds(options.Value.JwksCacheSeconds);

    /// <summary>A client's configured keys by kid, built once per client (the registry is fixed at start-up).</summary>
    private FrozenDictionary<string, SecurityKey[]> InlineIndex(TrustedClient client) =>
        client.InlineKeys.Count == 0 ? Empty : inlineIndexes.GetValue(client, static c => Index(c.InlineKeys));

    private static FrozenDictionary<string, SecurityKey[]> Index(IReadOnlyList<JsonWebKey> keys) =>
        keys.Where(k => !string.IsNullOrEmpty(k.Kid))
            .GroupBy(k => k.Kid, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray<SecurityKey>(), StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, SecurityKey[]> Empty =
        new Dictionary<string, SecurityKey[]>(StringComparer.Ordinal).ToFrozenDictionary(StringComparer.Ordinal);

    private async Task<IReadOnlyList<JsonWebKey>?> FetchAsync(Uri jwksUrl, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.JwksFetchTimeoutSeconds));
            var http = httpClientFactory.CreateClient(HttpClientName);
            using var response = await http.GetAsync(jwksUrl, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                Log.JwksFetchFailed(logger, jwksUrl.GetLeftPart(UriPartial.Path), $"status {(int)response.StatusCode}");
                return null;
            }

            if (response.Content.Headers.ContentLength > MaxJwksBytes)
            {
                Log.JwksFetchFailed(logger, jwksUrl.GetLeftPart(UriPartial.Path), "too large");
                return null;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            var buffer = new byte[MaxJwksBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), timeout.Token)) > 0)
            {
                total += read;
            }

            if (total > MaxJwksBytes)
            {
                Log.JwksFetchFailed(logger, jwksUrl.GetLeftPart(UriPartial.Path), "too large");
                return null;
            }

            var set = new JsonWebKeySet(System.Text.Encoding.UTF8.GetString(buffer, 0, total));
            // Only public asymmetric signing keys with a kid are usable; anything else in the set is ignored.
            return
            [
                .. set.Keys.Where(k => k.Kty is JsonWebAlgorithmsKeyTypes.EllipticCurve or JsonWebAlgorithmsKeyTypes.RSA
                    && !string.IsNullOrEmpty(k.Kid) && string.IsNullOrEmpty(k.D) && k.Use is null or "sig"),
            ];
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ArgumentException or System.Text.Json.JsonException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            Log.JwksFetchFailed(logger, jwksUrl.GetLeftPart(UriPartial.Path), ex.GetType().Name);
            return null;
        }
    }

    private sealed class IssuerKeys
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public volatile KeySnapshot? Keys;

        public DateTimeOffset LastForcedRefresh { get; set; } = DateTimeOffset.MinValue;
    }

    /// <summary>One fetched JWKS, indexed by kid, and when it was fetched.</summary>
    private sealed record KeySnapshot(FrozenDictionary<string, SecurityKey[]> ByKid, DateTimeOffset FetchedAt);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "JWKS fetched: issuer={Issuer} keys={KeyCount}")]
        public static partial void JwksFetched(ILogger logger, string issuer, int keyCount);

        [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "JWKS fetch failed: url={Url} reason={Reason}")]
        public static partial void JwksFetchFailed(ILogger logger, string url, string reason);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "JWKS refresh throttled: issuer={Issuer}")]
        public static partial void RefreshThrottled(ILogger logger, string issuer);
    }
}
