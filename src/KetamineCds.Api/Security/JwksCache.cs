using System.Collections.Concurrent;
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
    /// </summary>
    public async Task<KeyLookup> EnsureKeyAsync(TrustedClient client, string kid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client.InlineKeys.Any(k => k.Kid == kid))
        {
            return KeyLookup.Found;
        }

        if (client.JwksUrl is null)
        {
            return KeyLookup.UnknownKid;
        }

        var state = issuers.GetOrAdd(client.Issuer, _ => new IssuerKeys());
        var settings = options.Value;
        var now = time.GetUtcNow();
        var snapshot = state.Keys;
        var stale = snapshot is null || now - state.FetchedAt > TimeSpan.FromSeconds(settings.JwksCacheSeconds);
        if (!stale && snapshot!.Any(k => k.Kid == kid))
        {
            return KeyLookup.Found;
        }

        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            // Another request may have fetched while this one waited.
            now = time.GetUtcNow();
            snapshot = state.Keys;
            stale = snapshot is null || now - state.FetchedAt > TimeSpan.FromSeconds(settings.JwksCacheSeconds);
            if (!stale && snapshot!.Any(k => k.Kid == kid))
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

            var fetched = await FetchAsync(client.JwksUrl, cancellationToken);
            if (fetched is null)
            {
                // Keep serving the keys we had: an EHR's JWKS outage must not lock out keys we already trust.
                return snapshot?.Any(k => k.Kid == kid) == true ? KeyLookup.Found : KeyLookup.JwksUnavailable;
            }

            state.Keys = fetched;
            state.FetchedAt = now;
            Log.JwksFetched(logger, client.Issuer, fetched.Count);
            return fetched.Any(k => k.Kid == kid) ? KeyLookup.Found : KeyLookup.UnknownKid;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>The keys currently trusted for <paramref name="client"/> with this kid (no I/O: used by the key resolver).</summary>
    public IEnumerable<SecurityKey> KeysFor(TrustedClient client, string? kid)
    {
        ArgumentNullException.ThrowIfNull(client);
        var cached = issuers.TryGetValue(client.Issuer, out var state) ? state.Keys ?? [] : [];
        return client.InlineKeys.Concat(cached).Where(k => string.Equals(k.Kid, kid, StringComparison.Ordinal));
    }

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

        public volatile IReadOnlyList<JsonWebKey>? Keys;

        public DateTimeOffset FetchedAt { get; set; }

        public DateTimeOffset LastForcedRefresh { get; set; } = DateTimeOffset.MinValue;
    }

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
