"""Intergenerational housing (cohabitation intergénérationnelle solidaire): applications,
the steps that vet them, the pairs a centre proposes, their documents."""
