import { Logger } from '@nestjs/common';
import nodemailer, { Transporter } from 'nodemailer';

export const MAILER = Symbol('MAILER');

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** SMTP when SMTP_URL is set; otherwise the message is logged (nodemailer's JSON transport). */
export function createMailer(smtpUrl: string | undefined, from: string): Mailer {
  const logger = new Logger('Mail');
  const transport: Transporter = smtpUrl
    ? nodemailer.createTransport(smtpUrl)
    : nodemailer.createTransport({ jsonTransport: true });
  return {
    async send(message) {
      const info = await transport.sendMail({ from, ...message });
      if (!smtpUrl)
        logger.log(
          `(no SMTP_URL: logged, not sent) to=${message.to} subject="${message.subject}" id=${info.messageId}`,
        );
    },
  };
}
