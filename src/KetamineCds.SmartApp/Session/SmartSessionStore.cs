using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace KetamineCds.SmartApp.Session;

/// <summary>
/// A launch between the redirect to the EHR's authorize endpoint and the callback. Bound to the browser that started it
/// (<see cref="BrowserBinding"/> is the value of an HttpOnly cookie set with the redirect), used once.
/// </summary>
public sealed record PendingLaunch(
    string State,
    string BrowserBinding,
    string EhrName,
    Uri FhirBase,
    string TokenEndpoint,
    string CodeVerifier,
    string RedirectUri,
    string RequestedScope,
    bool Standalone,
    string? AppContext,
    DateTimeOffset Expires);

/// <summary>A signed-in session: the tokens stay here, on the server; the browser holds only the opaque session id.</summary>
public sealed record SmartSession(
    string Id,
    string EhrName,
    Uri FhirBase,
    string TokenEndpoint,
    string AccessToken,
    string? RefreshToken,
    string PatientId,
    string? Scope,
    string? AppContext,
    DateTimeOffset TokenExpires,
    DateTimeOffset SessionExpires);

/// <summary>Server-side store of launches and sessions. In memory by default; a shared store is needed behind a load balancer.</summary>
public interface ISmartSessionStore
{
    void AddLaunch(PendingLaunch launch);

    /// <summary>Removes and returns the launch for this state (single use: a second call with the same state gets null).</summary>
    PendingLaunch? TakeLaunch(string state);

    void SaveSession(SmartSession session);

    SmartSession? FindSession(string id);

    void RemoveSession(string id);
}

/// <summary>
/// The in-memory store: bounded (oldest dropped first), expired entries removed on access and on each write. Fine for one
/// process; several instances need a shared implementation of <see cref="ISmartSessionStore"/> (docs/smart-app.md).
/// </summary>
public sealed class InMemorySmartSessionStore(IOptions<SmartAppOptions> options, TimeProvider time) : ISmartSessionStore
{
    private readonly ConcurrentDictionary<string, PendingLaunch> _launches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SmartSession> _sessions = new(StringComparer.Ordinal);

    public void AddLaunch(PendingLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        Prune();
        _launches[launch.State] = launch;
    }

    public PendingLaunch? TakeLaunch(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return _launches.TryRemove(state, out var launch) && launch.Expires > time.GetUtcNow() ? launch : null;
    }

    public void SaveSession(SmartSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Prune();
        _sessions[session.Id] = session;
    }

    public SmartSession? FindSession(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!_sessions.TryGetValue(id, out var session))
        {
            return null;
        }

        if (session.SessionExpires <= time.GetUtcNow())
        {
            _sessions.TryRemove(id, out _);
            return null;
        }

        return session;
    }

    public void RemoveSession(string id) => _sessions.TryRemove(id, out _);

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (state, launch) in _launches)
        {
            if (launch.Expires <= now)
            {
                _launches.TryRemove(state, out _);
            }
        }

        foreach (var (id, session) in _sessions)
        {
            if (session.SessionExpires <= now)
            {
                _sessions.TryRemove(id, out _);
            }
        }

        var max = options.Value.MaxSessions;
        Trim(_sessions, max, s => s.SessionExpires);
        Trim(_launches, max, l => l.Expires);
    }

    private static void Trim<T>(ConcurrentDictionary<string, T> entries, int max, Func<T, DateTimeOffset> expires)
    {
        var excess = entries.Count - max + 1;
        if (excess <= 0)
        {
            return;
        }

        foreach (var key in entries.OrderBy(e => expires(e.Value)).Take(excess).Select(e => e.Key).ToList())
        {
            entries.TryRemove(key, out _);
        }
    }
}
