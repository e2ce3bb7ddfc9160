using KetamineCds.SmartApp.Launch;
using Microsoft.AspNetCore.Http;

namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// The plain error pages: what happened and what to do, in a sentence each. No stack trace, no token, no patient data;
/// the detail is the app's own wording (or an OAuth error code), never echoed input.
/// </summary>
public static class ErrorPage
{
    public static (int Status, string Title, string WhatToDo) Describe(SmartProblemKind kind) => kind switch
    {
        SmartProblemKind.UnknownIss => (StatusCodes.Status400BadRequest, "This EHR is not registered with the app",
            "Open the app from an EHR that has registered it. If this is your EHR, ask your EHR team to register the app (docs/smart-app.md)."),
        SmartProblemKind.DiscoveryFailed => (StatusCodes.Status502BadGateway, "The EHR's sign-in service could not be reached",
            "Try again in a few minutes. If it keeps failing, tell your EHR team: the app could not read the EHR's SMART configuration."),
        SmartProblemKind.StateInvalid => (StatusCodes.Status400BadRequest, "This sign-in link has already been used or has expired",
            "Open the app again from the patient's chart in the EHR. Each sign-in link works once, in the browser that started it."),
        SmartProblemKind.AuthorizationDenied => (StatusCodes.Status403Forbidden, "The EHR did not allow the app to open",
            "If you cancelled, open the app again from the patient's chart. Otherwise ask your EHR team whether you may use this app."),
        SmartProblemKind.TokenRefused => (StatusCodes.Status403Forbidden, "The EHR refused the app's sign-in",
            "Open the app again from the patient's chart. If it keeps failing, tell your EHR team (the error code is below)."),
        SmartProblemKind.NoPatient => (StatusCodes.Status400BadRequest, "The EHR did not say which patient to show",
            "Open the app from within a patient's chart, or choose a patient when the EHR asks."),
        SmartProblemKind.NoSession => (StatusCodes.Status401Unauthorized, "You are not signed in to the app",
            "Open the app from the patient's chart in the EHR."),
        SmartProblemKind.SessionExpired => (StatusCodes.Status401Unauthorized, "Your session has expired",
            "Open the app again from the patient's chart in the EHR to sign in again."),
        SmartProblemKind.FhirUnavailable => (StatusCodes.Status503ServiceUnavailable, "The patient's record could not be read",
            "Try again in a few minutes. Nothing is shown rather than an incomplete list: do not read the absence of a medication here as its absence."),
        SmartProblemKind.SessionStoreUnavailable => (StatusCodes.Status503ServiceUnavailable, "The app cannot sign you in right now",
            "Try again in a few minutes. If it keeps failing, tell your IT team: the app's session store is not answering."),
        SmartProblemKind.NoKetamine => (StatusCodes.Status200OK, "No ketamine or esketamine course in this record",
            "This app shows a ketamine or esketamine course. If the patient is being treated, check that the treatment is recorded as a medication in the EHR."),
        _ => (StatusCodes.Status400BadRequest, "The app could not open", "Open the app again from the patient's chart in the EHR."),
    };

    public static string Render(SmartProblemKind kind, string detail)
    {
        var (_, title, whatToDo) = Describe(kind);
        return Layout.Page(title, h => h
            .Raw("<section class=\"problem\" aria-labelledby=\"problem-title\">")
            .El("h1", title, ("id", "problem-title"))
            .El("p", detail, ("class", "problem-detail"), ("data-problem", ProblemCode(kind)))
            .Raw("<h2>What to do</h2>")
            .El("p", whatToDo)
            .Raw("<p><a href=\"/app/evidence\">Read the evidence summary (no sign-in needed)</a></p>")
            .Raw("</section>"));
    }

    /// <summary>A stable machine-readable code for the page (tests and support read it from data-problem).</summary>
    public static string ProblemCode(SmartProblemKind kind) => kind switch
    {
        SmartProblemKind.UnknownIss => "unknown-iss",
        SmartProblemKind.DiscoveryFailed => "discovery-failed",
        SmartProblemKind.StateInvalid => "state-invalid",
        SmartProblemKind.AuthorizationDenied => "authorization-denied",
        SmartProblemKind.TokenRefused => "token-refused",
        SmartProblemKind.NoPatient => "no-patient",
        SmartProblemKind.NoSession => "no-session",
        SmartProblemKind.SessionExpired => "session-expired",
        SmartProblemKind.SessionStoreUnavailable => "session-store-unavailable",
        SmartProblemKind.FhirUnavailable => "fhir-unavailable",
        SmartProblemKind.NoKetamine => "no-ketamine",
        _ => "error",
    };
}
