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

/// <summary>
/// Server-side store of launches and sessions. In memory by default (one instance); on Redis when
/// <c>KetamineCds:Redis:Configuration</c> is set, so that behind a load balancer any instance can finish a launch another
/// started and serve a session another created (docs/smart-app.md). A store that cannot answer throws
/// <see cref="Launch.SmartProblemException"/> of kind <see cref="Launch.SmartProblemKind.SessionStoreUnavailable"/>.
/// </summary>
public interface ISmartSessionStore
{
    ValueTask AddLaunchAsync(PendingLaunch launch, CancellationToken cancellationToken);

    /// <summary>Removes and returns the launch for this state (single use: a second call with the same state gets null).</summary>
    ValueTask<PendingLaunch?> TakeLaunchAsync(string state, CancellationToken cancellationToken);

    ValueTask SaveSessionAsync(SmartSession session, CancellationToken cancellationToken);

    ValueTask<SmartSession?> FindSessionAsync(string id, CancellationToken cancellationToken);

    ValueTask RemoveSessionAsync(string id, CancellationToken cancellationToken);
}

/// <summary>
/// The in-memory store: bounded (oldest dropped first), expired entries removed on access and on each write. Fine for one
/// process; several instances use the Redis store (docs/smart-app.md).
/// </summary>
public sealed class InMemorySmartSessionStore(IOptions<SmartAppOptions> options, TimeProvider time) : ISmartSessionStore
{
    private readonly ConcurrentDictionary<string, PendingLaunch> _launches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SmartSession> _sessions = new(StringComparer.Ordinal);

    public ValueTask AddLaunchAsync(PendingLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        Prune();
        _launches[launch.State] = launch;
        return ValueTask.CompletedTask;
    }

    public ValueTask<PendingLaunch?> TakeLaunchAsync(string state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        return ValueTask.FromResult(_launches.TryRemove(state, out var launch) && launch.Expires > time.GetUtcNow() ? launch : null);
    }

    public ValueTask SaveSessionAsync(SmartSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        Prune();
        _sessions[session.Id] = session;
        return ValueTask.CompletedTask;
    }

    public ValueTask<SmartSession?> FindSessionAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!_sessions.TryGetValue(id, out var session))
        {
            return ValueTask.FromResult<SmartSession?>(null);
        }

        if (session.SessionExpires <= time.GetUtcNow())
        {
            _sessions.TryRemove(id, out _);
            return ValueTask.FromResult<SmartSession?>(null);
        }

        return ValueTask.FromResult<SmartSession?>(session);
    }

    public ValueTask RemoveSessionAsync(string id, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(id, out _);
        return ValueTask.CompletedTask;
    }

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
