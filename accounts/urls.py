from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/setup-status", views.SetupStatusView.as_view(), name="auth-setup-status"),
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("auth/change-password", views.ChangePasswordView.as_view(), name="auth-change-password"),
    path("auth/onboarding-complete", views.OnboardingCompleteView.as_view(), name="auth-onboarding-complete"),
]
