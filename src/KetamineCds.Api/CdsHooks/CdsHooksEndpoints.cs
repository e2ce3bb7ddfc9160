using KetamineCds.Api.Security;

namespace KetamineCds.Api.CdsHooks;

/// <summary>The CDS Hooks routes: discovery, the three services and their feedback.</summary>
public static class CdsHooksEndpoints
{
    public static RouteGroupBuilder MapCdsHooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/cds-services");
        group.MapGet("/", () => TypedResults.Json(
            new CdsDiscoveryResponse(CdsServiceCatalog.All.Select(s => s.Descriptor).ToList()), CdsJson.Options))
            .WithName("Discovery")
            .RequireAuthorization(CdsSecurity.DiscoveryPolicy);
        group.MapPost("/{id}", (string id, HttpContext http, HookHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(id, http, cancellationToken))
            .WithName("CallService")
            .RequireAuthorization(CdsSecurity.ClientPolicy)
            .RequireCdsRateLimit();
        group.MapPost("/{id}/feedback", (string id, HttpContext http, FeedbackHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(id, http, cancellationToken))
            .WithName("Feedback")
            .RequireAuthorization(CdsSecurity.ClientPolicy)
            .RequireCdsRateLimit();
        return group;
    }
}
